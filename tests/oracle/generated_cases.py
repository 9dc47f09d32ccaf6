"""Seeded random templates and data for the differential test against Handlebars.js.

The grammar mixes every construct the renderer supports (paths, @data, ../, blocks with else and else-if,
sections, inverse sections, ~ and standalone whitespace, comments, escapes, inline partials, lookup, block
parameters) with data whose values are the awkward ones: 0, -0, "", [], {}, null, booleans, floats, nesting.
"""

from __future__ import annotations

import random
from typing import Any

from tests.oracle.handlebars_oracle import OracleCase

_NAMES = [
    "a", "b", "list", "obj", "n", "z", "s", "e", "t", "f", "nul", "missing", "items", "this", "@index",
    "@key", "@first", "@last", "@root.a", "../a", "a.b", "obj.x", "obj.inner.y", "list.[0]", "list.length",
    "items.[1].name", ".", "name", "../name", "@root.list", "x", "obj.missing", "item", "i",
]  # fmt: skip
_GAPS = ["", " ", "\n", "  \n", "\n  ", "\t", "\r\n", " x ", "<p>", "\n\n"]
_VALUES: list[Any] = [
    "A<b>", "", 0, 1, 2.5, -0.0, 1e21, True, False, None, [], ["x", 2], {}, {"x": "X", "b": "<&>"}, "0",
    [{"name": "n"}, {"name": "m", "x": 1}], {"2": 1, "1": 2, "b": 3}, "\"'`=&",
]  # fmt: skip
_KEYS = ["a", "b", "list", "obj", "n", "z", "s", "e", "t", "f", "nul", "items", "name", "x", "k", "item", "i"]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def gap(self) -> str:
        return self.rnd.choice(_GAPS)

    def mustache(self) -> str:
        name = self.rnd.choice(_NAMES)
        roll = self.rnd.random()
        if roll < 0.1:
            return "{{{" + name + "}}}"
        if roll < 0.15:
            return "{{& " + name + "}}"
        if roll < 0.2:
            return "{{~" + name + "~}}"
        if roll < 0.25:
            key = self.rnd.choice(["'x'", "0", "1", "'name'", "k", "@index"])
            return "{{lookup " + self.rnd.choice(_NAMES) + " " + key + "}}"
        return "{{" + name + "}}"

    def section_name(self) -> str:
        name = self.rnd.choice(_NAMES)
        return name if not name.startswith(("@", ".", "../")) else "a"

    def block(self, depth: int) -> str:
        helper = self.rnd.choice(["if", "unless", "each", "with", "section", "inverse", "if", "each"])
        if helper == "section":
            name = self.section_name()
            inverse = "{{else}}" + self.body(depth + 1) if self.rnd.random() < 0.3 else ""
            return "{{#" + name + "}}" + self.body(depth + 1) + inverse + "{{/" + name + "}}"
        if helper == "inverse":
            name = self.section_name()
            return "{{^" + name + "}}" + self.body(depth + 1) + "{{/" + name + "}}"
        left, right = self.rnd.choice(["", "~"]), self.rnd.choice(["", "~"])
        params = " as |item i|" if helper in ("each", "with") and self.rnd.random() < 0.2 else ""
        zero = " includeZero=true" if helper == "if" and self.rnd.random() < 0.2 else ""
        text = "{{" + left + "#" + helper + " " + self.rnd.choice(_NAMES) + zero + params + right + "}}"
        text += self.gap() + self.body(depth + 1)
        roll = self.rnd.random()
        if roll < 0.3:
            tilde = self.rnd.choice(["", "~"]), self.rnd.choice(["", "~"])
            text += (
                self.gap() + "{{" + tilde[0] + "else" + tilde[1] + "}}" + self.gap() + self.body(depth + 1)
            )
        elif roll < 0.4 and helper == "if":
            text += (
                self.gap() + "{{else if " + self.rnd.choice(_NAMES) + "}}" + self.gap() + self.body(depth + 1)
            )
            text += "{{else}}" + self.body(depth + 1)
        elif roll < 0.45:
            text += "{{^}}" + self.body(depth + 1)
        return (
            text
            + self.gap()
            + "{{"
            + self.rnd.choice(["", "~"])
            + "/"
            + helper
            + self.rnd.choice(["", "~"])
            + "}}"
        )

    def body(self, depth: int) -> str:
        parts: list[str] = []
        for _ in range(self.rnd.randint(0, 4)):
            roll = self.rnd.random()
            if roll < 0.3:
                parts.append(self.gap())
            elif roll < 0.6:
                parts.append(self.mustache())
            elif roll < 0.75 and depth < 3:
                parts.append(self.block(depth))
            elif roll < 0.8:
                parts.append(self.rnd.choice(["{{! c }}", "{{!-- {{x}} --}}"]))
            elif roll < 0.85:
                parts.append(self.rnd.choice(["{{> p}}", "{{> p}}", "{{> p obj}}"]))
            elif roll < 0.9:
                parts.append("\\{{a}}")
            else:
                parts.append(self.rnd.choice(["text", "<b>", "&amp;", "\n"]))
        return "".join(parts)

    def template(self) -> str:
        text = self.body(0)
        if "{{> p" in text or self.rnd.random() < 0.2:
            partial = '{{#*inline "p"}}' + self.gap() + self.body(2) + self.gap() + "{{/inline}}"
            text = self.rnd.choice(["", "\n"]) + partial + self.gap() + text
        return text

    def data(self) -> dict[str, Any]:
        data = {key: self.rnd.choice(_VALUES) for key in _KEYS if self.rnd.random() < 0.75}
        if self.rnd.random() < 0.8:
            inner = {"y": self.rnd.choice(_VALUES)}
            data["obj"] = {"x": self.rnd.choice(_VALUES), "inner": inner, "b": self.rnd.choice(_VALUES)}
        if self.rnd.random() < 0.8:
            data["list"] = [self.rnd.choice(_VALUES) for _ in range(self.rnd.randint(0, 3))]
        if self.rnd.random() < 0.7:
            count = self.rnd.randint(0, 3)
            data["items"] = [
                {"name": self.rnd.choice(_VALUES), "x": self.rnd.choice(_VALUES)} for _ in range(count)
            ]
        return data


def generated_cases(count: int, seed: int = 20240601) -> list[OracleCase]:
    """`count` templates, each with two data sets, in text or HTML mode."""
    generator = _Generator(seed)
    cases: list[OracleCase] = []
    for _ in range(count):
        template = generator.template()
        for _ in range(2):
            mode = generator.rnd.choice(["text", "html"])
            cases.append({"template": template, "data": generator.data(), "mode": mode})
    return cases
