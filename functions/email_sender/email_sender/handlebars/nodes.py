"""The AST that the parser builds, in the shapes of Handlebars' own nodes (handlebars.yy).

Whitespace control trims its content nodes in place; the compiler turns it into closures. Slotted: a
large template has hundreds of thousands of nodes, alive together until the compile ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class _Path:
    data: bool
    depth: int
    parts: list[str]
    original: str


@dataclass(slots=True)
class _Literal:
    kind: str  # "string", "number", "boolean", "undefined", "null"
    value: Any
    original: Any


@dataclass(slots=True)
class _SubExpr:
    path: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None


@dataclass(slots=True)
class _Program:
    body: list[Any]
    block_params: list[str] | None = None
    chained: bool = False


@dataclass(slots=True)
class _Content:
    original: str
    value: str
    right_stripped: bool = False
    left_stripped: bool = False


@dataclass(slots=True)
class _Comment:
    strip: dict[str, bool]


@dataclass(slots=True)
class _Mustache:
    path: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None
    escaped: bool
    decorator: bool
    strip: dict[str, bool]
    line: int


@dataclass(slots=True)
class _Block:
    path: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None
    program: _Program | None
    inverse: _Program | None
    open_strip: dict[str, bool]
    inverse_strip: dict[str, bool] | None
    close_strip: dict[str, bool] | None
    decorator: bool
    line: int
    partial: bool = False  # `{{#> name}}body{{/name}}`: a partial block, whose path is the partial's name


@dataclass(slots=True)
class _Partial:
    name: Any
    params: list[Any]
    hash: list[tuple[str, Any]] | None
    strip: dict[str, bool]
    line: int
    indent: str = ""


def _original(node: Any) -> Any:
    if isinstance(node, _Path):
        return node.original
    if isinstance(node, _Literal):
        return node.original
    return None
