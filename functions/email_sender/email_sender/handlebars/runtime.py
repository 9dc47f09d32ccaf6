"""How a compiled template runs: the render state, compiled programs, context depths and `@data` frames.

Handlebars.js runs a child program through wrapProgram (a new context pushes a depth) and iterates with
`each`; both are here, shared by mustaches, blocks, sections and partials, and so is `@partial-block`. An
`{{else if}}` chain, which Handlebars.js runs as nested inverse programs, runs here as a loop over its links
(`_run_chain`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from email_sender.handlebars.js_values import NULL_CONTEXT, UNDEFINED, _loose_equal, _object_keys


class Escaping(enum.Enum):
    NONE = "none"  # subject and text parts: values as plain text, never entities
    # HTML parts: {{x}} escaped as Handlebars does; {{{x}}} and {{& x}} written by the render's `raw` hook,
    # which escapes them too unless the caller gives its own (the sender's sanitizes them).
    HTML = "html"


@dataclass
class _State:
    ctx: Any
    depths: list[Any]
    data: dict[str, Any]
    block_params: list[tuple[list[str], list[Any] | None]]
    partials: dict[str, _PartialDef]
    escaping: Escaping
    raw: Callable[[str], str]  # how an HTML part writes {{{x}}} and {{& x}}


@dataclass(frozen=True)
class _PartialDef:
    program: _Exec
    depths: list[Any]


Evaluator = Callable[[_State], Any]
Statement = Callable[[_State, list[str]], None]
# A block's decision: it runs its own program and returns _TAKEN, or returns the context its inverse runs in.
Branch = Callable[[_State, list[str]], Any]
_TAKEN = object()


@dataclass(frozen=True, eq=False, slots=True)
class _PartialBlock:
    """The body of `{{#> name}}body{{/name}}`: `@partial-block` in the data of the partial it calls.

    In Handlebars.js it is a function in the data frame (partialBlockWrapper). Its body runs where it was
    written (its depths and block parameters), in the context and data of the `{{> @partial-block}}` that
    renders it, with the `@partial-block` that was current around its own `{{#>}}`.
    """

    program: _Exec
    depths: list[Any]
    block_params: list[tuple[list[str], list[Any] | None]]
    outer: Any  # `@partial-block` where the `{{#>}}` is: another _PartialBlock, or undefined

    def __repr__(self) -> str:
        return "@partial-block"


@dataclass(slots=True)
class _Exec:
    """A compiled program: its statements (text as itself), its inline partials, its block parameter names."""

    body: list[Statement | str] = field(default_factory=list)
    inline_partials: list[tuple[str, _Exec]] = field(default_factory=list)
    block_params: list[str] | None = None


def _this_for_helper(state: _State) -> Any:
    return NULL_CONTEXT if state.ctx is None or state.ctx is UNDEFINED else state.ctx


def _run(
    program: _Exec | None,
    ctx: Any,
    depths: list[Any],
    state: _State,
    *,
    data: dict[str, Any] | None = None,
    block_params: list[Any] | None = None,
    out: list[str],
) -> None:
    """Runs a child program the way Handlebars' wrapProgram does (a new context pushes a depth)."""
    if program is None:
        return
    child = _enter(ctx, depths, state, data)
    _execute(program, child, child.depths, block_params, out)


def _enter(ctx: Any, depths: list[Any], state: _State, data: dict[str, Any] | None = None) -> _State:
    """The state a child program runs in: `ctx`, pushed onto the depths when it is a new context."""
    head = depths[0] if depths else UNDEFINED
    if not _loose_equal(ctx, head) and not (ctx is NULL_CONTEXT and head is None):
        depths = [ctx, *depths]
    return _State(
        ctx,
        depths,
        state.data if data is None else data,
        state.block_params,
        state.partials,
        state.escaping,
        state.raw,
    )


def _execute(
    program: _Exec, state: _State, parent_depths: list[Any], block_params: list[Any] | None, out: list[str]
) -> None:
    if program.block_params is not None:
        state.block_params = [*state.block_params, (program.block_params, block_params)]
    if program.inline_partials:
        partials = dict(state.partials)
        for name, body in program.inline_partials:
            partials[name] = _PartialDef(body, parent_depths)
        state.partials = partials
    for statement in program.body:
        if isinstance(statement, str):
            out.append(statement)
        else:
            statement(state, out)


def _run_chain(branches: list[Branch], inverse: _Exec | None, state: _State, out: list[str]) -> None:
    """A block and its `{{else if}}` links: each link decides in turn, in the state the link before handed
    its inverse, as Handlebars.js's nested inverse programs would (a chained one has no block parameters or
    partials of its own); the last link's inverse is the chain's `{{else}}`."""
    last = len(branches) - 1
    for i, branch in enumerate(branches):
        this = branch(state, out)
        if this is _TAKEN:
            return
        if i == last:
            _run(inverse, this, state.depths, state, out=out)
            return
        state = _enter(this, state.depths, state)


def _each(context: Any, fn: _Exec | None, *, state: _State, out: list[str]) -> bool:
    """Runs `fn` once per item of a list or key of an object; False when there is none (the caller's inverse
    runs then)."""
    frame = {**state.data, "_parent": state.data}
    items: list[tuple[Any, Any]]
    if isinstance(context, list):
        items = list(enumerate(context))
    elif isinstance(context, dict):
        items = [(key, context[key]) for key in _object_keys(context)]
    else:
        items = []
    if not items:
        return False
    last = len(items) - 1
    for index, (key, item) in enumerate(items):
        frame.update(key=key, index=index, first=index == 0, last=index == last)
        _run(fn, item, state.depths, state, data=frame, block_params=[item, key], out=out)
    return True


def _render_partial_block(block: _PartialBlock, ctx: Any, data: Any, state: _State) -> str:
    """Handlebars' partialBlockWrapper: a new data frame, whose `@partial-block` is the one around it."""
    frame = {**data, "_parent": data} if isinstance(data, dict) else {"_parent": UNDEFINED}
    frame["partial-block"] = block.outer
    depths = block.depths
    head = depths[0] if depths else UNDEFINED
    if not _loose_equal(ctx, head) and not (ctx is NULL_CONTEXT and head is None):
        depths = [ctx, *depths]
    out: list[str] = []
    inner = _State(ctx, depths, frame, block.block_params, state.partials, state.escaping, state.raw)
    _execute(block.program, inner, depths, None, out)
    return "".join(out)


def _called(value: Any, state: _State) -> Any:
    """A value that Handlebars.js calls if it is a function: the argument of `if`, `unless`, `with` and
    `each`, and what a simple path reaches (its resolvePossibleLambda).

    The only function a template can reach is `@partial-block`; it is called as `fn.call(this)` is: with no
    context and no data of its own, so its body renders with `this` undefined.
    """
    if isinstance(value, _PartialBlock):
        return _render_partial_block(value, UNDEFINED, UNDEFINED, state)
    return value
