"""The Handlebars variable checker: which variables a template needs, and which the data lacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from email_sender.template_variables import (
    TemplateSyntaxError,
    TemplateVariables,
    missing_variables,
    template_variables,
)


def variables(*sources: str) -> tuple[set[str], set[str]]:
    found = template_variables(*sources)
    return set(found.required), set(found.optional)


@pytest.mark.parametrize(
    ("source", "required", "optional"),
    [
        ("Hello {{name}}", {"name"}, set()),
        ("{{ name }} {{~name~}} {{{raw}}} {{& amp}}", {"name", "raw", "amp"}, set()),
        ("{{user.first_name}} {{this.plan}}", {"user.first_name", "plan"}, set()),
        ("{{! a comment {{ignored}} }}{{!-- {{also}} ignored --}}x", set(), set()),
        ("{{#if vip}}Dear {{title}}{{else}}Hi {{nick}}{{/if}}", set(), {"vip", "title", "nick"}),
        ("{{#unless opted_out}}{{promo}}{{/unless}}", set(), {"opted_out", "promo"}),
        ("{{#each items}}{{name}} {{this}} {{@index}} {{this.price}}{{/each}}", {"items"}, set()),
        ("{{#each items}}{{@root.currency}}{{../owner}}{{/each}}", {"items", "currency", "owner"}, set()),
        ("{{#if show}}{{#each items}}{{name}}{{/each}}{{/if}}", set(), {"show", "items"}),
        ("{{#each items}}{{x}}{{else}}No items for {{user}}{{/each}}", {"items"}, {"user"}),
        ("{{#each a}}{{#each b}}{{c}}{{/each}}{{/each}}", {"a"}, set()),
        ("{{name}} {{#if name}}{{name}}{{/if}}", {"name"}, set()),
        ("{{ a-b }} {{$x}}", {"a-b", "$x"}, set()),
    ],
)
def test_variables_found(source: str, required: set[str], optional: set[str]) -> None:
    assert variables(source) == (required, optional)


def test_parts_are_combined_and_required_wins() -> None:
    assert variables("{{a}}", "{{#if b}}{{a}}{{/if}}", "{{b}}") == ({"a", "b"}, set())


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{#with user}}{{name}}{{/with}}", "unknown block helper {{#with}}"),
        ("{{#if}}x{{/if}}", "takes exactly one variable"),
        ("{{#each items as |item|}}{{item}}{{/each}}", "takes exactly one variable"),
        ("{{#if a}}x", "{{#if}} is never closed"),
        ("{{#if a}}x{{/each}}", "{{/each}} where {{/if}} was expected"),
        ("x{{/if}}", "{{/if}} where no closing tag was expected"),
        ("{{else}}", "{{else}} outside"),
        ("{{#if a}}1{{else}}2{{else}}3{{/if}}", "or twice"),
        ("{{lookup map key}}", "unsupported helper or expression {{lookup ...}}"),
        ("{{> partial}}", "unsupported helper or expression"),
        ("{{^if a}}x{{/if}}", "unsupported helper or expression"),
        ("{{}}", "unsupported helper or expression {{(empty) ...}}"),
        ("{{../up}}", "climbs above"),
        ("{{a..b}}", "unsupported variable syntax"),
        ("{{[weird key]}}", "unsupported"),
    ],
)
def test_unsupported_syntax_is_an_error(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=None) as caught:
        template_variables(source)
    assert message in str(caught.value)


def test_missing_variables_resolves_dotted_paths_and_accepts_any_value_type() -> None:
    data: dict[str, Any] = {"name": None, "count": 7, "user": {"email": "x", "tags": []}, "flat": "s"}
    needed = ["name", "count", "user.email", "user.tags", "user.phone", "flat.inner", "absent"]
    assert missing_variables(needed, data) == ["absent", "flat.inner", "user.phone"]
    assert missing_variables([], {}) == []


# --- property: the checker agrees with a reference model on generated templates -----------------------------

_PATHS = ["a", "b", "c", "user.name", "user.email", "order.id"]


@dataclass
class Model:
    required: set[str] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)


def _space(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["", " ", "~", "~ ", " ~"]))


@st.composite
def _node(draw: st.DrawFn, depth: int, in_each: bool, conditional: bool, model: Model) -> str:
    kinds = ["text", "var", "raw", "comment"] + (["if", "unless", "each"] if depth < 3 else [])
    kind = draw(st.sampled_from(kinds))

    def use(path: str, optional: bool) -> None:
        if not in_each:
            (model.optional if optional else model.required).add(path)

    def body(*, each: bool, cond: bool) -> str:
        count = draw(st.integers(0, 3))
        return "".join(
            draw(_node(depth + 1, in_each or each, conditional or cond, model)) for _ in range(count)
        )

    if kind == "text":
        return draw(st.sampled_from(["Hello ", "<p>", "</p>", "\n", "{ not a tag }", "$", "}"]))
    if kind == "comment":
        return draw(st.sampled_from(["{{! note {{a}} }}", "{{!-- {{#if x}} --}}"]))
    if kind in ("var", "raw"):
        if in_each and draw(st.booleans()):
            return draw(st.sampled_from(["{{this}}", "{{@index}}", "{{this.sku}}", "{{qty}}"]))
        path = draw(st.sampled_from(_PATHS))
        use(path, conditional)
        return f"{{{{{{{path}}}}}}}" if kind == "raw" else f"{{{{{_space(draw)}{path}{_space(draw)}}}}}"
    path = draw(st.sampled_from(_PATHS))
    use(path, optional=conditional or kind != "each")
    inner = body(each=kind == "each", cond=kind != "each")
    otherwise = ""
    if draw(st.booleans()):
        otherwise = "{{else}}" + body(each=False, cond=True)
    return f"{{{{#{kind} {path}}}}}{inner}{otherwise}{{{{/{kind}}}}}"


@st.composite
def templates_with_model(draw: st.DrawFn) -> tuple[list[str], Model]:
    model = Model()
    parts = [
        "".join(draw(_node(0, False, False, model)) for _ in range(draw(st.integers(1, 5)))) for _ in range(3)
    ]
    return parts, model


def _data_for(paths: set[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for path in sorted(paths):
        *parents, leaf = path.split(".")
        node = data
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = 0  # any type is fine, including non-strings
    return data


@settings(max_examples=300, deadline=None)
@given(templates_with_model())
def test_generated_templates_match_the_reference_model(case: tuple[list[str], Model]) -> None:
    parts, model = case
    found = template_variables(*parts)
    assert found == TemplateVariables(frozenset(model.required), frozenset(model.optional - model.required))

    # Data with exactly the required variables passes; dropping any one of them is reported.
    assert missing_variables(found.required, _data_for(set(found.required))) == []
    for dropped in found.required:
        rest = set(found.required) - {dropped}
        data = _data_for(rest)
        if any(path.startswith(dropped + ".") for path in rest):
            continue  # a sibling path recreates the parent; covered by the example tests
        assert dropped in missing_variables(found.required, data)
