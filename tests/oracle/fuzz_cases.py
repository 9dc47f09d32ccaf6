"""A seeded grammar fuzzer for the differential test: the corners of Handlebars' grammar, nested.

generated_cases.py draws everyday templates; this one draws the rest, each with whitespace control (`~`
and standalone lines) around it: empty paths ('' "" []) and literal paths ([a b], "x", numbers and
booleans), raw blocks, partial blocks and `@partial-block`, partials with a hash or a dynamic name,
`{{log}}` and `{{#lookup}}`, helpers that do not exist in branches taken and not taken, else-if chains up to
50 long, hashes, subexpressions, block parameters, comments, escaped mustaches, and data with astral
characters that strings index by UTF-16 unit (`{{lookup s 1}}` is half of an emoji).

The generator tracks what each scope can name (the data's keys at the top, an item's inside `#each`, block
parameters), so that most templates render and a failure stays the exception that the test compares.
"""

from __future__ import annotations

import random
from typing import Any

from tests.oracle.handlebars_oracle import OracleCase

ROOT_NAMES = [
    "a", "b", "s", "u", "n", "t", "f", "nul", "x", "list", "obj", "obj.x", "obj.[]", "obj.[a b]", "[a b]",
    "list.[0]", "list.[1]", "items.[0].name", "obj.inner.y", "@root.a", "this", ".", "[]", "''", '""',
    "[].a", "this.[]", '"x"', "missing", "obj.missing",
]  # fmt: skip
ITEM_NAMES = ["this", ".", "[]", "name", "../a", "@root.s", "@index", "@key", "@first", "@last", "../[]"]
PARAMS = [
    "a", "s", "u", "n", "t", "f", "nul", "list", "obj", "obj.x", "s.[1]", "s.[2]", "s.length", "list.[1]",
    "missing", "missing.deep", "[]", "''", '"y z"', "1", "-2.5", "0", "true", "false", "null", "undefined",
    "[a b]", "@root.u", "(lookup s 1)", "(lookup s 2)", "(lookup list 1)", "(lookup . 'a')", "(log a)",
    "(lookup (lookup obj 'inner') 'y')", "(lookup obj '')",
]  # fmt: skip
UNKNOWN_HELPERS = ["fmt", "formatDate", "upper"]
GAPS = ["", " ", "\n", "  \n", "\n  ", "\t", "\r\n", " x ", "<p>", "\n\n", "é", "😀"]
RAW_TEXTS = ["{{a}}", " {{{{b}}}}x{{{{/b}}}} ", "\n{{#if t}}y{{/if}}\n", "{{> p}}", "\\{{a}}", " ", "😀"]


class _Fuzzer:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def pick(self, items: list[str]) -> str:
        return self.rnd.choice(items)

    def chance(self, p: float) -> bool:
        return self.rnd.random() < p

    def tilde(self) -> str:
        return "~" if self.chance(0.25) else ""

    def gap(self) -> str:
        return self.pick(GAPS)

    def param(self, names: list[str]) -> str:
        return self.pick(names + PARAMS) if self.chance(0.6) else self.pick(PARAMS)

    def hash(self, names: list[str]) -> str:
        pairs = [
            f"{self.pick(['k', 'x', 'level', 'k'])}={self.param(names)}"
            for _ in range(self.rnd.randint(1, 2))
        ]
        return " " + " ".join(pairs)

    def unknown(self, names: list[str]) -> str:
        return f"{self.pick(UNKNOWN_HELPERS)} {self.param(names)}"

    def mustache(self, names: list[str]) -> str:
        roll = self.rnd.random()
        if roll < 0.45:
            inner = self.pick(names)
        elif roll < 0.6:
            inner = f"lookup {self.param(names)} {self.param(names)}"
        elif roll < 0.7:
            inner = (
                "log"
                + (f" {self.param(names)}" if self.chance(0.7) else "")
                + (self.hash(names) if self.chance(0.3) else "")
            )
        elif roll < 0.78:
            inner = self.unknown(names)
        elif roll < 0.85:
            inner = self.pick(["'x'", '"x"', "1", "true", "[a b]", "''", "[]"])
        else:
            inner = self.pick(names)
            if self.chance(0.5):
                return "{{" + self.tilde() + "{" + inner + "}" + self.tilde() + "}}"
            return "{{" + self.tilde() + "& " + inner + self.tilde() + "}}"
        return "{{" + self.tilde() + inner + self.tilde() + "}}"

    def tags(self, open_inner: str, close_inner: str) -> tuple[str, str]:
        return (
            "{{" + self.tilde() + open_inner + self.tilde() + "}}",
            "{{" + self.tilde() + close_inner + self.tilde() + "}}",
        )

    def wrap(self, open_inner: str, close_inner: str, body: str, inverse: str | None = None) -> str:
        opening, closing = self.tags(open_inner, close_inner)
        text = opening + self.gap() + body
        if inverse is not None:
            text += self.gap() + "{{" + self.tilde() + "else" + self.tilde() + "}}" + self.gap() + inverse
        return text + self.gap() + closing

    def conditional(self, names: list[str], depth: int, *, chain: int) -> str:
        helper = self.pick(["if", "unless"])
        zero = " includeZero=true" if self.chance(0.15) else ""
        opening, closing = self.tags(f"#{helper} {self.param(names)}{zero}", f"/{helper}")
        text = opening + self.gap() + self.body(names, depth + 1)
        for _ in range(chain):
            text += self.gap() + "{{" + self.tilde() + f"else if {self.param(names)}" + self.tilde() + "}}"
            text += self.gap() + (self.body(names, depth + 1) if chain < 5 else self.mustache(names))
        if self.chance(0.5):
            text += "{{" + self.tilde() + "else" + self.tilde() + "}}" + self.body(names, depth + 1)
        return text + self.gap() + closing

    def iteration(self, names: list[str], depth: int) -> str:
        helper = self.pick(["each", "each", "with"])
        target = self.pick(["list", "items", "obj", "s", "empty", "missing", "[]", "nul"])
        params = ""
        inner = list(ITEM_NAMES)
        if self.chance(0.4):
            params = self.pick([" as |item i|", " as |item|", " as |item i j|"])
            inner += ["item", "i", "item.name", "item.[0]"]
        inverse = self.body(names, depth + 1) if self.chance(0.3) else None
        return self.wrap(f"#{helper} {target}{params}", f"/{helper}", self.body(inner, depth + 1), inverse)

    def raw_block(self, names: list[str]) -> str:
        opening, closing = self.rnd.choice(
            [("raw", "raw"), ("raw", "raw"), ("if t", "if"), ("unless t", "unless"), ("each list", "each"),
             ("lookup obj 'x'", "lookup"), ("missing", "missing"), ("fmt a", "fmt"), ('"raw"', "raw")]
        )  # fmt: skip
        text = "".join(self.pick(RAW_TEXTS) for _ in range(self.rnd.randint(0, 3)))
        return "{{{{" + opening + "}}}}" + text + "{{{{/" + closing + "}}}}"

    def partial_block(self, names: list[str], depth: int, *, in_partial: bool, partials: list[str]) -> str:
        name = self.pick([*partials, *partials, "nope"] + (["@partial-block"] if in_partial else []))
        args = " " + self.pick(["obj", "list", "s", "nul", "."]) if self.chance(0.3) else ""
        args += self.hash(names) if self.chance(0.3) else ""
        body = self.body(names, depth + 1, in_partial=in_partial, partials=[])
        return self.wrap(f"#> {name}{args}", f"/{name}", body)

    def partial(self, names: list[str], *, in_partial: bool, partials: list[str]) -> str:
        roll = self.rnd.random()
        if (in_partial and roll < 0.4) or not partials:
            inner = "@partial-block" + (" " + self.pick(["obj", "."]) if self.chance(0.2) else "")
        elif roll < 0.55:
            inner = self.pick(partials)
        elif roll < 0.7:
            inner = self.pick(partials) + " " + self.pick(["obj", "list", "s", "."])
            inner += self.hash(names) if self.chance(0.5) else ""
        elif roll < 0.8:
            inner = self.pick(partials) + self.hash(names)
        elif roll < 0.9 and partials == ["p", "q"]:  # the data's pname: p, q, a name none has, or null
            inner = self.pick(["(lookup . 'pname')", "(lookup @root 'pname')", "(fmt a)"])
        else:
            inner = self.pick(["nope", "@partial-block"])
        return "{{" + self.tilde() + "> " + inner + self.tilde() + "}}"

    def block(self, names: list[str], depth: int, *, in_partial: bool, partials: list[str]) -> str:
        makers = {
            "conditional": lambda: self.conditional(names, depth, chain=self.rnd.choice([0, 0, 1, 2])),
            "iteration": lambda: self.iteration(names, depth),
            "section": lambda: self.section(names, depth),
            "raw": lambda: self.raw_block(names),
            "partial": lambda: self.partial_block(names, depth, in_partial=in_partial, partials=partials),
            "log": lambda: self.wrap(f"#log {self.param(names)}", "/log", self.body(names, depth + 1)),
            "lookup": lambda: self.wrap(
                f"#lookup {self.pick(['obj', '.', 'list', 's'])} {self.param(names)}",
                "/lookup",
                self.body(names, depth + 1),
            ),
            "unknown": lambda: self.unknown_block(names, depth),
        }
        weights = [25, 20, 7, 10, 10, 6, 6, 16]
        return makers[self.rnd.choices(list(makers), weights=weights)[0]]()

    def section(self, names: list[str], depth: int) -> str:
        name = self.pick(["t", "f", "list", "obj", "[]", "''", "raw", "empty"])
        return self.wrap(f"{self.pick(['#', '^'])}{name}", f"/{name}", self.body(names, depth + 1))

    def unknown_block(self, names: list[str], depth: int) -> str:
        """A block helper that does not exist, mostly where the render never reaches it."""
        helper = self.pick(UNKNOWN_HELPERS)
        inner = self.wrap(f"#{helper} {self.param(names)}", f"/{helper}", self.body(names, depth + 1))
        return self.wrap(f"#if {self.pick(['f', 'nul', 'missing', 't'])}", "/if", inner)

    def body(
        self, names: list[str], depth: int, *, in_partial: bool = False, partials: list[str] | None = None
    ) -> str:
        """Text, mustaches, blocks, comments, partials: `partials` are those it may call (none recurses)."""
        partials = ["p", "q"] if partials is None else partials
        parts: list[str] = []
        for _ in range(self.rnd.randint(0, 4)):
            roll = self.rnd.random()
            if roll < 0.2:
                parts.append(self.gap())
            elif roll < 0.5:
                parts.append(self.mustache(names))
            elif roll < 0.72 and depth < 3:
                parts.append(self.block(names, depth, in_partial=in_partial, partials=partials))
            elif roll < 0.78:
                parts.append(self.pick(["{{! c }}", "{{!-- {{x}} --}}", "{{~! c ~}}", "{{~!-- }} --~}}"]))
            elif roll < 0.88:
                parts.append(self.partial(names, in_partial=in_partial, partials=partials))
            elif roll < 0.94:
                parts.append(self.pick(["\\{{a}}", "\\\\{{a}}", "\\{{#if}}"]))
            else:
                parts.append(self.pick(["text", "<b>", "&amp;", "\n", "😀"]))
        return "".join(parts)

    def definition(self, name: str) -> str:
        """An inline partial: p may call q, q calls no partial but @partial-block."""
        uses_block = self.pick([
            "{{> @partial-block}}", "{{#if @partial-block}}[{{> @partial-block}}]{{else}}none{{/if}}",
            "{{#> @partial-block}}default{{/@partial-block}}", "{{#unless @partial-block}}U{{/unless}}", "",
        ])  # fmt: skip
        body = self.body(
            [*ITEM_NAMES, "a", "x", "k"], 1, in_partial=True, partials=["q"] if name == "p" else []
        )
        text = self.gap() + body + self.gap() + uses_block + self.gap()
        return (
            "{{"
            + self.tilde()
            + f'#*inline "{name}"'
            + self.tilde()
            + "}}"
            + text
            + "{{"
            + self.tilde()
            + "/inline"
            + self.tilde()
            + "}}"
        )

    def template(self) -> str:
        if self.chance(0.05):  # a long else-if chain
            return self.conditional(ROOT_NAMES, 2, chain=self.rnd.randint(10, 50))
        text = self.body(ROOT_NAMES, 0)
        for name in ("q", "p"):
            if self.chance(0.7):
                text = self.definition(name) + self.pick(["", "\n"]) + text
        return text

    def data(self) -> dict[str, Any]:
        pools: dict[str, list[Any]] = {
            "a": ["A<&>", "", "😀"], "b": ["", "B", 0], "s": ["a😀b", "😀", "s"], "u": ["ü€\u2028", "ü"],
            "n": [0, 1.5, -0.0], "t": [True, 1, "t"], "f": [False, 0, ""], "nul": [None], "x": ["X", ""],
            "list": [["x", "😀", 3], [], [None, 0]], "empty": [[], {}],
            "obj": [{"x": "X", "": "E", "a b": "AB", "inner": {"y": "Y"}}, {"x": 0}, {}],
            "items": [[{"name": "n1", "x": 1}, {"name": "😀"}], [], [{"name": ""}]],
            "a b": ["space"], "raw": [True, False, ["r1", "r2"], "😀"], "pname": ["p", "q", "nope", None],
            "k": ["K"],
        }  # fmt: skip
        return {key: self.rnd.choice(values) for key, values in pools.items() if self.chance(0.85)}


def fuzz_cases(count: int, seed: int = 20251206) -> list[OracleCase]:
    """`count` templates, each with two data sets, in text or HTML mode."""
    fuzzer = _Fuzzer(seed)
    cases: list[OracleCase] = []
    for _ in range(count):
        template = fuzzer.template()
        for _ in range(2):
            mode = fuzzer.rnd.choice(["text", "html"])
            cases.append({"template": template, "data": fuzzer.data(), "mode": mode})
    return cases
