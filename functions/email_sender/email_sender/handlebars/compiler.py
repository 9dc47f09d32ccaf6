"""Compiles the AST into closures: each mustache and block becomes a path lookup or a built-in helper.

It decides as Handlebars' compiler does (simple path, helper or ambiguous). What Handlebars.js fails when it
runs (an unknown helper, a partial that is not defined) fails here when the render reaches it, not before;
of what Handlebars.js compiles, only decorators other than `*inline` are refused here (docs/email-sender.md).
What a compiled template keeps is small: text as itself, a mustache as two slotted objects (and a bound
method of each); a large template holds hundreds of thousands of them for as long as it is cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from email_sender.handlebars.deadline import _Deadline
from email_sender.handlebars.errors import MissingVariableError, TemplateRenderError, TemplateSyntaxError
from email_sender.handlebars.js_values import (
    _OBJECT_PROTO,
    UNDEFINED,
    _is_empty,
    _lookup,
    _object_keys,
    _property_key,
    _strict,
    _truthy,
    _utf16_units,
    escape_html,
    js_string,
    js_string_repr,
)
from email_sender.handlebars.nodes import (
    _Block,
    _Comment,
    _Content,
    _Literal,
    _Mustache,
    _original,
    _Partial,
    _Path,
    _Program,
    _SubExpr,
)
from email_sender.handlebars.runtime import (
    _TAKEN,
    Branch,
    Escaping,
    Evaluator,
    Statement,
    _called,
    _each,
    _Exec,
    _PartialBlock,
    _PartialDef,
    _render_partial_block,
    _run,
    _run_chain,
    _State,
    _this_for_helper,
)

_KNOWN_HELPERS = frozenset(
    {"helperMissing", "blockHelperMissing", "each", "if", "unless", "with", "log", "lookup"}
)
# Handlebars 4.7 still counts these as known helpers but keeps them out of the helpers a template can call.
_MISSING_HOOKS = frozenset({"helperMissing", "blockHelperMissing"})


class _Compiler:
    def __init__(self, deadline: _Deadline | None = None) -> None:
        self.block_param_scopes: list[list[str] | None] = []
        self.raw_outputs: list[str] = []
        self.unknown_helpers: list[str] = []
        self.deadline = deadline or _Deadline()
        self.names: dict[str, str] = {}  # one copy of each name the template's paths use

    def shared(self, name: str) -> str:
        return self.names.setdefault(name, name)

    def program(self, program: _Program | None) -> _Exec | None:
        if program is None:
            return None
        self.block_param_scopes.insert(0, program.block_params)
        try:
            compiled = _Exec(block_params=program.block_params)
            for node in program.body:
                self.deadline.step()
                self.statement(node, compiled)
            return compiled
        finally:
            self.block_param_scopes.pop(0)

    def statement(self, node: Any, compiled: _Exec) -> None:
        if isinstance(node, _Content):
            if node.value:
                compiled.body.append(node.value)
        elif isinstance(node, _Comment):
            return
        elif isinstance(node, _Mustache):
            compiled.body.append(self.mustache(node))
        elif isinstance(node, _Block):
            if node.decorator:
                name, body = self.inline_partial(node)
                compiled.inline_partials.append((name, body))
            elif node.partial:
                compiled.body.append(self.partial(node))
            else:
                compiled.body.append(self.block(node))
        elif isinstance(node, _Partial):
            compiled.body.append(self.partial(node))

    # -- expressions -----------------------------------------------------------------------------------

    def is_block_param(self, name: str) -> bool:
        return any(scope and name in scope for scope in self.block_param_scopes)

    def classify(self, path: Any, params: list[Any], hash_: Any, *, subexpression: bool = False) -> str:
        simple = isinstance(path, _Path) and len(path.parts) == 1 and not _scoped(path) and not path.depth
        block_param = simple and self.is_block_param(path.parts[0])
        helper = not block_param and (subexpression or bool(params) or hash_ is not None)
        eligible = not block_param and (helper or simple)
        if eligible and not helper and path.parts[0] in _KNOWN_HELPERS:
            helper = True
        if helper:
            return "helper"
        return "ambiguous" if eligible else "simple"

    def path(self, path: _Path, *, strict: bool, called: bool = False) -> Evaluator:
        """The path's value; `called`: a function it reaches is called (see `value`)."""
        parts = list(path.parts)
        depth = path.depth
        if not depth and parts and not _scoped(path) and self.is_block_param(parts[0]):
            name, rest = parts[0], parts[1:]

            def block_param(state: _State) -> Any:
                for names, values in reversed(state.block_params):
                    if name in names:
                        if values is None:
                            raise TemplateRenderError(f"block parameter {name} has no value here")
                        index = names.index(name)
                        value = values[index] if index < len(values) else UNDEFINED
                        break
                else:
                    value = UNDEFINED
                for part in rest:
                    value = _lookup(value, part)
                return value

            if called:
                return lambda state: _called(block_param(state), state)
            return block_param

        lookups = _LOOKUPS[called]
        if not parts or not parts[0]:
            # Handlebars pushes the context itself for a path whose first part is empty: `this`, `.`, `..`,
            # and the empty names `[]`, `''` and `""`. What follows that part, and an `@`, are ignored.
            return lookups[False](depth, (), self.shared(path.original), strict).value
        lookup = lookups[path.data]
        return lookup(depth, tuple(map(self.shared, parts)), self.shared(path.original), strict).value

    def value(self, path: _Path, kind: str) -> Evaluator:
        """A mustache's or a section's path, strictly. A simple one (not a possible helper's name) that
        reaches a function calls it, as Handlebars' resolvePossibleLambda does: `@partial-block` renders."""
        return self.path(path, strict=True, called=kind == "simple")

    def param(self, node: Any) -> Evaluator:
        if isinstance(node, _Literal):
            value = node.value
            return lambda state: value
        if isinstance(node, _SubExpr):
            return self.subexpression(node)
        return self.path(node, strict=False)

    def hash(self, hash_: list[tuple[str, Any]] | None) -> list[tuple[str, Evaluator]]:
        """The hash as the object literal that Handlebars.js generates for it, in the order it evaluates it.

        Its compiler assigns the pairs from last to first, so a repeated key keeps its first value (the other
        is never evaluated), and the literal lists integer-like keys first, then the others last to first.
        """
        nodes: dict[str, Any] = {}
        for key, value in reversed(hash_ or []):
            nodes[key] = value
        return [(key, self.param(nodes[key])) for key in _object_keys(nodes)]

    def subexpression(self, node: _SubExpr) -> Evaluator:
        path = _literal_to_path(node.path)
        kind = self.classify(path, node.params, node.hash, subexpression=True)
        if kind == "simple":
            return self.path(path, strict=True)
        return self.helper_call(path, node.params, node.hash)

    def helper_call(self, path: _Path, params_nodes: list[Any], hash_nodes: Any) -> Evaluator:
        """A helper's value, as Handlebars' built-in helpers give it; any other helper fails when reached.

        Handlebars.js (strict) resolves the helper before its arguments: an unknown one is looked up in the
        data, which never holds a function, so it fails whatever the data (InvalidTemplate, not a missing
        variable); helperMissing and blockHelperMissing are hooks, not helpers, since 4.7.
        """
        name = path.parts[0] if path.parts else ""
        if name not in _KNOWN_HELPERS or name in _MISSING_HOOKS:
            self.unknown_helpers.append(path.original)
        if name not in _KNOWN_HELPERS:
            return _fail(f"unknown helper {path.original!r}")
        if name in _MISSING_HOOKS:
            return _fail(f"{name} is not a helper that templates can call")
        params = [self.param(p) for p in params_nodes]
        hash_ = self.hash(hash_nodes)

        def evaluate_arguments(state: _State) -> list[Any]:
            values = [param(state) for param in params]
            for _, value in hash_:
                value(state)
            return values

        if name == "lookup":

            def lookup(state: _State) -> Any:
                values = evaluate_arguments(state)
                obj = values[0] if values else {"options": True}  # Handlebars passes its options object
                if not _truthy(obj):
                    return obj
                if len(values) != 2:
                    raise TemplateRenderError("lookup takes exactly two arguments: an object and a key")
                return _lookup(obj, _property_key(values[1]))

            return lookup
        if name == "log":

            def log(state: _State) -> Any:
                evaluate_arguments(state)
                return UNDEFINED

            return log
        return _then_fail(evaluate_arguments, f"{{{{{name}}}}} must be a block: {{{{#{name} ...}}}}")

    # -- statements ------------------------------------------------------------------------------------

    def mustache(self, node: _Mustache) -> Statement:
        if node.decorator:
            raise TemplateSyntaxError(f"line {node.line}: decorators {{{{* ...}}}} are not supported")
        path = _literal_to_path(node.path)
        kind = self.classify(path, node.params, node.hash)
        value = self.helper_call(path, node.params, node.hash) if kind == "helper" else self.value(path, kind)
        escaped = node.escaped
        if not escaped:
            self.raw_outputs.append(
                f"line {node.line}: {{{{{{{path.original}}}}}}} / {{{{& {path.original}}}}}"
            )
        return _Output(value, escaped).write

    def block(self, node: _Block) -> Statement:
        """A block, and the `{{else if}}` links after it: one branch each, tried in a loop (_run_chain)."""
        links = [node]
        while (chained := links[-1].inverse) is not None and chained.chained:
            links.append(chained.body[0])
        branches = [self.branch(link) for link in links]
        inverse = self.program(links[-1].inverse)
        if len(branches) > 1:

            def chain(state: _State, out: list[str]) -> None:
                _run_chain(branches, inverse, state, out)

            return chain
        branch = branches[0]

        def block(state: _State, out: list[str]) -> None:
            this = branch(state, out)
            if this is not _TAKEN:
                _run(inverse, this, state.depths, state, out=out)

        return block

    def branch(self, node: _Block) -> Branch:
        """One block's own decision (its inverse is the caller's): run its program, or hand on a context."""
        path = _literal_to_path(node.path)
        kind = self.classify(path, node.params, node.hash)
        fn = self.program(node.program)
        if kind != "helper":
            return self.section(self.value(path, kind), fn)
        name = path.parts[0] if path.parts else ""
        if name not in ("if", "unless", "each", "with"):
            # Any other helper's value is the block's output, as a mustache's is (`log` gives none). In
            # Handlebars.js it is unescaped, so `{{#lookup}}` counts as raw output; an HTML part escapes it
            # all the same, as {{x}}: it is a value, not a producer's fragment. Unknown helpers fail when
            # reached.
            if name == "lookup":
                self.raw_outputs.append(f"line {node.line}: {{{{#lookup ...}}}} (a block's value)")
            return _written(_Output(self.helper_call(path, node.params, node.hash), escaped=True))
        params = [self.param(p) for p in node.params]
        hash_ = self.hash(node.hash)

        def arguments(state: _State) -> tuple[list[Any], dict[str, Any]]:
            values = [param(state) for param in params]
            return values, {key: value(state) for key, value in hash_}

        if name in ("if", "unless"):
            fn_when_truthy = name == "if"

            def conditional(state: _State, out: list[str]) -> Any:
                values, options = arguments(state)
                if len(values) != 1:
                    raise TemplateRenderError(f"#{name} requires exactly one argument")
                condition = _called(values[0], state)
                include_zero = _truthy(options.get("includeZero", UNDEFINED))
                this = _this_for_helper(state)
                falsy = (not include_zero and not _truthy(condition)) or _is_empty(condition)
                if falsy is not fn_when_truthy:
                    _run(fn, this, state.depths, state, out=out)
                    return _TAKEN
                return this

            return conditional
        if name == "with":

            def with_(state: _State, out: list[str]) -> Any:
                values, _ = arguments(state)
                if len(values) != 1:
                    raise TemplateRenderError("#with requires exactly one argument")
                context = _called(values[0], state)
                if _is_empty(context):
                    return _this_for_helper(state)
                _run(fn, context, state.depths, state, block_params=[context], out=out)
                return _TAKEN

            return with_

        def each(state: _State, out: list[str]) -> Any:
            values, _ = arguments(state)
            if len(values) != 1:
                raise TemplateRenderError("Must pass iterator to #each")
            context = _called(values[0], state)
            return _TAKEN if _each(context, fn, state=state, out=out) else _this_for_helper(state)

        return each

    def section(self, value: Evaluator, fn: _Exec | None) -> Branch:
        """`{{#name}}` with no helper: Handlebars' blockHelperMissing."""

        def run(state: _State, out: list[str]) -> Any:
            context = value(state)
            if isinstance(context, _PartialBlock):  # Handlebars.js calls it as a helper here (see js_string)
                raise TemplateRenderError(f"{{{{#{context!r}}}}} is not a section: use {{{{> {context!r}}}}}")
            this = state.ctx
            if context is False or context is None or context is UNDEFINED:
                return this
            if isinstance(context, list):
                if not context:
                    return this
                _each(context, fn, state=state, out=out)
            else:
                _run(fn, this if context is True else context, state.depths, state, out=out)
            return _TAKEN

        return run

    def inline_partial(self, node: _Block) -> tuple[str, _Exec]:
        path = node.path
        if not (isinstance(path, _Path) and path.original == "inline"):
            raise TemplateSyntaxError(
                f"line {node.line}: decorator {{{{#*{_original(path)}}}}} is not supported"
            )
        if (
            len(node.params) != 1
            or not isinstance(node.params[0], _Literal)
            or node.params[0].kind != "string"
        ):
            raise TemplateSyntaxError(
                f'line {node.line}: {{{{#*inline}}}} takes one quoted name: {{{{#*inline "name"}}}}'
            )
        body = self.program(node.program) or _Exec()
        return node.params[0].value, body

    def partial(self, node: _Partial | _Block) -> Statement:
        """`{{> name}}`, `{{> (expr)}}` and the partial block `{{#> name}}default{{/name}}`, as Handlebars'
        invokePartialWrapper and invokePartial run them: a hash makes a new context from the one given and
        the hash; a partial block becomes `@partial-block` for the partial, and renders if none is found."""
        block = node.program if isinstance(node, _Block) else None
        name_node = node.path if isinstance(node, _Block) else node.name
        default = self.program(block) if block is not None else None
        if len(node.params) > 1:
            raise TemplateSyntaxError(
                f"line {node.line}: Unsupported number of partial arguments: {len(node.params)}"
            )
        dynamic = self.subexpression(name_node) if isinstance(name_node, _SubExpr) else None
        static_name = js_string_repr(_original(name_node))
        context = self.param(node.params[0]) if node.params else None
        hash_ = self.hash(node.hash) if node.hash is not None else None
        indent = node.indent if isinstance(node, _Partial) else ""

        def invoke(state: _State, out: list[str]) -> None:
            value = dynamic(state) if dynamic is not None else None
            ctx = context(state) if context is not None else state.ctx
            if hash_ is not None:
                ctx = _extend(ctx, {key: evaluate(state) for key, evaluate in hash_})
            found, name = _find_partial(state, static_name, dynamic is not None, value)
            data = state.data
            if default is not None:
                outer = data.get("partial-block", UNDEFINED)
                own = _PartialBlock(default, state.depths, state.block_params, outer)
                data = {**data, "_parent": data, "partial-block": own}
                found = found or own
            if found is None:
                raise TemplateRenderError(f"The partial {name} could not be found")
            if isinstance(found, _PartialBlock):
                result = _render_partial_block(found, ctx, data, state)
            else:
                parts: list[str] = []
                _run(found.program, ctx, found.depths, state, data=data, out=parts)
                result = "".join(parts)
            out.append(_indented(result, indent) if indent else result)

        return invoke


def _find_partial(
    state: _State, name: str, dynamic: bool, value: Any
) -> tuple[_PartialDef | _PartialBlock | None, str]:
    """Handlebars' resolvePartial: the partial called `name` (a dynamic one's value names it, unless it is
    `@partial-block` itself), and `@partial-block` where no partial has that name; the name it looked for."""
    if dynamic:
        if isinstance(value, _PartialBlock):
            return value, name
        name = _property_key(value) if _truthy(value) else "undefined"
    if name == "__proto__" or (name in _OBJECT_PROTO and name not in state.partials):
        # Handlebars.js would find a property of Object.prototype and render whatever that gives.
        raise TemplateRenderError(f"a partial cannot be named {name}, a JavaScript object's property")
    found = state.partials.get(name)
    if found is None and name == "@partial-block" and not dynamic:
        outer = state.data.get("partial-block")
        return (outer if isinstance(outer, _PartialBlock) else None), name
    return found, name


def _indented(text: str, indent: str) -> str:
    """A standalone partial's lines, each after the indent its tag had (a last empty line stays empty)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line and i + 1 == len(lines):
            break
        lines[i] = indent + line
    return "\n".join(lines)


def _written(output: _Output) -> Branch:
    """A block helper whose value is the block's output (`lookup`, `log`): it is written, and no inverse
    runs, not even in an `{{else}}` chain."""

    def write(state: _State, out: list[str]) -> Any:
        output.write(state, out)
        return _TAKEN

    return write


def _fail(message: str) -> Evaluator:
    def fail(state: _State) -> Any:
        raise TemplateRenderError(message)

    return fail


def _extend(context: Any, hash_values: dict[str, Any]) -> dict[str, Any]:
    """Handlebars' `Utils.extend({}, context, hash)`: the context's own enumerable keys, then the hash."""
    merged: dict[str, Any] = {}
    if isinstance(context, dict):
        merged.update((key, context[key]) for key in _object_keys(context))
    elif isinstance(context, list | str):  # for-in over an array or a string: its indexes (UTF-16 units)
        items = context if isinstance(context, list) else _utf16_units(context)
        merged.update((str(index), item) for index, item in enumerate(items))
    merged.update(hash_values)
    return merged


class _ContextLookup:
    """A path in a context: `{{a.b}}`, `{{this}}`, `{{../a}}` (strict: a mustache's own value must exist)."""

    __slots__ = ("depth", "parts", "shown", "strict")

    def __init__(self, depth: int, parts: tuple[str, ...], shown: str, strict: bool) -> None:
        self.depth, self.parts, self.shown, self.strict = depth, parts, shown, strict

    def value(self, state: _State) -> Any:
        depth = self.depth
        base = state.ctx if depth == 0 else (state.depths[depth] if depth < len(state.depths) else UNDEFINED)
        return _resolve(base, self.parts, self.strict, self.shown)


class _DataLookup(_ContextLookup):
    """A path in the `@data` frames: `{{@index}}`, `{{@../key}}`, `{{@root.a}}`."""

    __slots__ = ()

    def value(self, state: _State) -> Any:
        frame: Any = state.data
        steps = self.depth
        while _truthy(frame) and steps:
            frame = frame.get("_parent", UNDEFINED) if isinstance(frame, dict) else UNDEFINED
            steps -= 1
        return _resolve(frame, self.parts, self.strict, self.shown)


class _CalledContextLookup(_ContextLookup):
    """A simple path in a context, whose value is called if it is a function (`{{./x}}`, `{{#a.b}}`): a
    subclass rather than a wrapper, so that a mustache stays two objects."""

    __slots__ = ()

    def value(self, state: _State) -> Any:
        return _called(_ContextLookup.value(self, state), state)


class _CalledDataLookup(_DataLookup):
    """A simple path in the `@data` frames, whose value is called if it is a function."""

    __slots__ = ()

    def value(self, state: _State) -> Any:
        return _called(_DataLookup.value(self, state), state)


# The lookup class by (called, in the @data frames).
_LOOKUPS: dict[bool, dict[bool, type[_ContextLookup]]] = {
    False: {False: _ContextLookup, True: _DataLookup},
    True: {False: _CalledContextLookup, True: _CalledDataLookup},
}


def _resolve(base: Any, parts: tuple[str, ...], strict: bool, shown: str) -> Any:
    if not parts:
        return base
    try:
        if strict:
            for part in parts[:-1]:
                base = _lookup(base, part)
            return _strict(base, parts[-1])
        for part in parts:
            base = _lookup(base, part)
    except MissingVariableError as exc:
        raise MissingVariableError(f"{{{{{shown}}}}}: {exc}") from None
    return base


class _Output:
    """A mustache: its value as text. In an HTML part {{x}} is escaped; {{{x}}} and {{& x}} go through the
    render's `raw` hook."""

    __slots__ = ("escaped", "value")

    def __init__(self, value: Evaluator, escaped: bool) -> None:
        self.value = value
        self.escaped = escaped

    def write(self, state: _State, out: list[str]) -> None:
        text = js_string(self.value(state))
        if state.escaping is Escaping.HTML:
            text = escape_html(text) if self.escaped else state.raw(text)
        out.append(text)


def _then_fail(evaluate: Callable[[_State], Any], message: str) -> Evaluator:
    def evaluate_and_fail(state: _State) -> Any:
        evaluate(state)
        raise TemplateRenderError(message)

    return evaluate_and_fail


def _scoped(path: _Path) -> bool:
    """Handlebars' scopedId, /^\\.|this\\b/ on the path as written: `this`, `this.x`, `./x`."""
    return path.original.startswith(".") or re.search(r"this\b", path.original, re.ASCII) is not None


def _literal_to_path(node: Any) -> _Path:
    if isinstance(node, _Path):
        return node
    text = js_string_repr(node.original) if node.kind in ("null", "undefined") else js_string(node.original)
    return _Path(False, 0, [text], text)
