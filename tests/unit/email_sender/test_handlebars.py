"""The renderer's own promises: HTML parts escape every value, text parts never do, and what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from email_sender.handlebars import (
    Escaping,
    TemplateRenderError,
    TemplateSyntaxError,
    compile_template,
    escape_html,
    js_number,
)

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    "`=`",
    "&lt;already escaped&gt;",
    "{{name}}",
]
HTML = "<a href=\"mailto:{{v}}\" title='{{v}}'>{{v}}</a><p>{{{v}}}{{& v}}</p>"
TEXT = "Value: {{v}} / {{{v}}}"


@given(st.one_of(st.sampled_from(HOSTILE), st.text()))
def test_html_part_escapes_every_value_and_text_part_keeps_it(value: str) -> None:
    escaped = escape_html(value)
    html = compile_template(HTML).render({"v": value}, Escaping.HTML)
    text = compile_template(TEXT).render({"v": value}, Escaping.NONE)
    assert html == f"<a href=\"mailto:{escaped}\" title='{escaped}'>{escaped}</a><p>{escaped}{escaped}</p>"
    assert text == f"Value: {value} / {value}"
    for char in "<>\"'`=":
        assert char not in escaped


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_never_become_markup(value: str) -> None:
    html = compile_template("<pre>{{#each lines}}{{this}}\n{{/each}}</pre>").render(
        {"lines": [value, value]}, Escaping.HTML
    )
    assert "<script" not in html and "<img" not in html and "onerror=" not in html
    assert html.count("<") == 2  # <pre> and </pre>


def test_escaping_matches_handlebars_escape_expression() -> None:
    assert escape_html("&<>\"'`=") == "&amp;&lt;&gt;&quot;&#x27;&#x60;&#x3D;"


def test_triple_stash_and_ampersand_are_reported_and_still_escaped_in_html() -> None:
    template = compile_template("{{{a}}} {{& b}} {{c}}")
    assert len(template.raw_outputs) == 2
    assert (
        template.render({"a": "<i>", "b": "<b>", "c": "<u>"}, Escaping.HTML)
        == "&lt;i&gt; &lt;b&gt; &lt;u&gt;"
    )
    assert template.render({"a": "<i>", "b": "<b>", "c": "<u>"}, Escaping.NONE) == "<i> <b> <u>"


@pytest.mark.parametrize(
    ("source", "construct"),
    [
        ("{{#> layout}}x{{/layout}}", "partial blocks"),
        ("{{* decorator}}", "decorators"),
        ("{{#*custom 'x'}}y{{/custom}}", "decorator"),
        ("{{{{raw}}}}x{{{{/raw}}}}", "raw blocks"),
        ("{{> (name)}}", "dynamic partials"),
        ("{{uppercase name}}", "unknown helper 'uppercase'"),
        ("{{#eq a b}}x{{/eq}}", "unknown block helper"),
        ("{{#if a}}x{{/unless}}", "doesn't match"),
        ("{{#if a}}x", "expected"),
        ("{{name", "line 1"),
    ],
)
def test_unsupported_or_broken_syntax_is_a_syntax_error_naming_it(source: str, construct: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=construct):
        compile_template(source)


def test_strict_lookups_fail_but_helper_arguments_do_not() -> None:
    template = compile_template("{{#if flag}}{{date}}{{/if}}{{#each items}}{{name}}{{/each}}")
    assert template.render({"flag": False, "items": []}, Escaping.NONE) == ""
    assert template.render({"items": [{"name": "a"}]}, Escaping.NONE) == "a"  # {{#if missing}} is fine
    with pytest.raises(TemplateRenderError, match='"date" not defined'):
        template.render({"flag": True, "items": []}, Escaping.NONE)
    with pytest.raises(TemplateRenderError, match='"name" not defined'):
        template.render({"flag": False, "items": [{"name": "a"}, {}]}, Escaping.NONE)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1"), (0.1, "0.1"), (1e21, "1e+21"), (1e-7, "1e-7"), (123456789.125, "123456789.125"),
     (-0.0, "0"), (2**60, "1152921504606847000"), (12345678901234567890, "12345678901234567000")],
)  # fmt: skip
def test_numbers_render_as_javascript_does(value: float, text: str) -> None:
    assert js_number(value) == text


def test_values_render_as_javascript_strings() -> None:
    template = compile_template("{{t}} {{f}} {{n}} {{l}} {{o}}.")
    data = {"t": True, "f": False, "n": None, "l": [1, None, "a", [2, 3]], "o": {"k": 1}}
    assert template.render(data, Escaping.NONE) == "true false  1,,a,2,3 [object Object]."


def test_compiled_once_per_source() -> None:
    assert compile_template("Hi {{name}}") is compile_template("Hi {{name}}")
