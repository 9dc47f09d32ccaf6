"""The renderer's own promises: HTML parts escape every value, text parts never do, what it refuses, and
that what Handlebars.js fails only when it runs (a helper that does not exist, a partial not defined) fails
here only when the render reaches it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from email_sender.handlebars import (
    Escaping,
    MissingVariableError,
    TemplateRenderError,
    TemplateSyntaxError,
    compile_template,
    escape_html,
    js_number,
)
from email_sender.handlebars.js_values import UNDEFINED, _loose_equal
from email_sender.handlebars.lexer import _MU_KINDS, _MU_RULES, _rule_groups
from email_sender.handlebars.nodes import _Literal
from email_sender.handlebars.template import Template, _Cache

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
        ("{{* decorator}}", "decorators"),
        ("{{#if f}}{{#*custom 'x'}}y{{/custom}}{{/if}}", "decorator"),
        ("{{#*inline name}}y{{/inline}}", "one quoted name"),
        ("{{#if a}}x{{/unless}}", "doesn't match"),
        ("{{#if a}}x", "expected"),
        ("{{name", "line 1"),
        ("{{{{raw}}}}x{{{{/raw2}}}}", "raw doesn't match raw2"),
        ("{{{{raw}}}}x", "never closed"),
        ("{{#> layout}}x{{/page}}", "layout doesn't match page"),
        ("{{#> layout}}x{{else}}y{{/layout}}", "expected OPEN_ENDBLOCK"),
        ("{{> p a b}}", "Unsupported number of partial arguments: 2"),
    ],
)
def test_unsupported_or_broken_syntax_is_a_syntax_error_naming_it(source: str, construct: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=construct):
        compile_template(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{#if a}}x", "line 1: expected OPEN_ENDBLOCK, got end of template"),
        ("{{#if a}}\n{{b}}\n{{/unless}}", "line 1: if doesn't match unless"),
        ("x\n{{a b=}}", "line 2: expected a name or a value, got '}}'"),
        ("{{a/../b}}", "line 1: invalid path a/.."),
        ("\n{{@a.this}}", "line 2: invalid path @a.this"),
        # The end of the text, whether in text, in a tag or in a raw block.
        ("a\n{{#if a}}\nx\n", "line 4: expected OPEN_ENDBLOCK, got end of template"),
        ("{{name ", "line 1: expected CLOSE, got end of template"),
        ("x\n{{name\n", "line 3: expected CLOSE, got end of template"),
        ("{{{{raw}}}}", "line 1: expected END_RAW_BLOCK, got end of template"),
    ],
)
def test_a_syntax_error_says_where_and_what(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError) as failed:
        compile_template(source)
    assert str(failed.value) == message


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("a\n{{!-- never closed }}", "line 2: {{!-- comment is never closed"),
        ("\\{{\x00", "line 1: unexpected character after \\{{"),
    ],
)
def test_a_comment_or_escaped_tag_that_cannot_end_says_so(source: str, error: str) -> None:
    with pytest.raises(TemplateSyntaxError) as raised:
        compile_template(source)
    assert str(raised.value) == error


def test_a_bracketed_name_unescapes_its_brackets_and_backslashes() -> None:
    template = compile_template(r"{{[a\]b]}} {{[c\\d]}} {{[e\f]}}")
    assert template.render({"a]b": 1, "c\\d": 2, "e\\f": 3}, Escaping.NONE) == "1 2 3"


def test_strict_lookups_fail_but_helper_arguments_do_not() -> None:
    template = compile_template("{{#if flag}}{{date}}{{/if}}{{#each items}}{{name}}{{/each}}")
    assert template.render({"flag": False, "items": []}, Escaping.NONE) == ""
    assert template.render({"items": [{"name": "a"}]}, Escaping.NONE) == "a"  # {{#if missing}} is fine
    with pytest.raises(TemplateRenderError, match='"date" not defined'):
        template.render({"flag": True, "items": []}, Escaping.NONE)
    with pytest.raises(TemplateRenderError, match='"name" not defined'):
        template.render({"flag": False, "items": [{"name": "a"}, {}]}, Escaping.NONE)


@pytest.mark.parametrize(("value", "shown"), [("str", "str"), (15, "15"), (1.5, "1.5"), (True, "true")])
def test_a_strict_lookup_in_a_string_or_a_number_fails_as_javascript_s_in_operator_does(
    value: object, shown: str
) -> None:
    with pytest.raises(MissingVariableError) as failed:
        compile_template("{{v.x}}").render({"v": value}, Escaping.NONE)
    assert str(failed.value) == f"{{{{v.x}}}}: Cannot use 'in' operator to search for 'x' in {shown}"


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.0, "1"), (0.1, "0.1"), (1e21, "1e+21"), (1e-7, "1e-7"), (123456789.125, "123456789.125"),
     (-0.0, "0"), (2**60, "1152921504606847000"), (12345678901234567890, "12345678901234567000"),
     (math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"), (0.001, "0.001"),
     (-0.000123, "-0.000123"), (1.5e21, "1.5e+21"), (-1.25e-7, "-1.25e-7"), (2**53 - 1, "9007199254740991"),
     (-(2**53), "-9007199254740992")],
)  # fmt: skip
def test_numbers_render_as_javascript_does(value: float, text: str) -> None:
    assert js_number(value) == text


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("Infinity", math.inf, True), ("-Infinity", -math.inf, True), ("+Infinity", math.inf, True),
        ("infinity", math.inf, False), ("0x1F", 31, True), ("0X1f", 31, True), ("0o17", 15, True),
        ("0b1111", 15, True), ("0xg", 0, False), ("0x", 0, False), ("0z1", 1, False), (" 1.5e1\n", 15, True),
        ("\ufeff\u00a0 15\u2029\u3000", 15, True), ("\x1c15", 15, False), ("", 0, True), (" ", 0, True),
        ("1_0", 10, False), (".5", 0.5, True), ("5.", 5, True), (None, 0, False), (True, "1", True),
    ],
)  # fmt: skip
def test_loose_equality_converts_a_string_to_a_number_as_javascript_does(
    a: object, b: object, equal: bool
) -> None:
    assert _loose_equal(a, b) is equal
    assert _loose_equal(b, a) is equal


def test_undefined_reads_as_javascript_s_in_a_node_s_repr() -> None:
    assert (
        repr(_Literal("undefined", UNDEFINED, UNDEFINED))
        == "_Literal(kind='undefined', value=undefined, original=undefined)"
    )


def test_values_render_as_javascript_strings() -> None:
    template = compile_template("{{t}} {{f}} {{n}} {{l}} {{o}}.")
    data = {"t": True, "f": False, "n": None, "l": [1, None, "a", [2, 3]], "o": {"k": 1}}
    assert template.render(data, Escaping.NONE) == "true false  1,,a,2,3 [object Object]."


def test_compiled_once_per_source() -> None:
    assert compile_template("Hi {{name}}") is compile_template("Hi {{name}}")


def _template(source: str) -> Template:
    return Template(source, compile_template("").program, (), ())


def _cached(cache: _Cache, *sources: str) -> list[str]:
    return [source for source in sources if cache.get(source) is not None]


def test_the_cache_keeps_the_most_recently_used_templates_up_to_its_count() -> None:
    cache = _Cache(templates=2, chars=1000)
    for source in ("a", "b", "c"):
        cache.put(_template(source))
    assert _cached(cache, "a", "b", "c") == ["b", "c"]
    cache.put(_template("d"))  # "b" was used less recently than "c"
    assert _cached(cache, "b", "c", "d") == ["c", "d"]


def test_the_cache_keeps_templates_up_to_its_characters_and_counts_what_it_drops() -> None:
    cache = _Cache(templates=10, chars=10)
    cache.put(_template("a" * 6))
    cache.put(_template("b" * 6))  # 12 characters: the older one goes
    assert _cached(cache, "a" * 6, "b" * 6) == ["b" * 6]
    cache.put(_template("c" * 4))  # 10 characters, once the dropped 6 no longer count
    assert _cached(cache, "b" * 6, "c" * 4) == ["b" * 6, "c" * 4]
    cache.put(_template("d" * 30))  # larger than the bound: kept alone, until the next
    assert _cached(cache, "b" * 6, "c" * 4, "d" * 30) == ["d" * 30]
    cache.put(_template("e"))
    assert _cached(cache, "d" * 30, "e") == ["e"]


def test_the_lexer_finds_each_rule_by_its_group() -> None:
    groups = _rule_groups()
    assert groups == _MU_KINDS
    assert list(groups.values()) == [kind for _, kind in _MU_RULES]


UNREACHED = {"show": False, "a": 1, "b": 2, "when": "today"}
REACHED = {**UNREACHED, "show": True}


@pytest.mark.parametrize(
    ("body", "helper"),
    [
        ("{{formatDate when}}", "formatDate"),
        ("{{#eq a b}}same{{/eq}}", "eq"),
        ("{{lookup (upper a) 'x'}}", "upper"),
        ("{{{{raw a}}}} {{x}} {{{{/raw}}}}", "raw"),
        ("{{> (pick a)}}", "pick"),
        ("{{helperMissing a}}", "helperMissing"),
        ("{{#blockHelperMissing a}}x{{/blockHelperMissing}}", "blockHelperMissing"),
    ],
)
def test_a_helper_that_does_not_exist_fails_only_where_the_render_reaches_it(body: str, helper: str) -> None:
    template = compile_template("{{#if show}}" + body + "{{/if}}")
    assert template.render(UNREACHED, Escaping.NONE) == ""
    assert template.unknown_helpers == (helper,)
    with pytest.raises(TemplateRenderError, match=helper) as failed:
        template.render(REACHED, Escaping.NONE)
    assert not isinstance(failed.value, MissingVariableError)  # InvalidTemplate: no data can make it render


@pytest.mark.parametrize(
    "source",
    [
        "{{formatDate missing.deep x=also.missing}}",
        "{{helperMissing missing.deep}}",
        "{{#blockHelperMissing missing.deep}}{{/blockHelperMissing}}",
    ],
)
def test_a_helper_that_does_not_exist_fails_before_its_arguments_are_looked_up(source: str) -> None:
    with pytest.raises(TemplateRenderError, match="helper") as failed:
        compile_template(source).render({}, Escaping.NONE)
    assert not isinstance(failed.value, MissingVariableError)


def test_the_built_in_helpers_exist() -> None:
    assert compile_template("{{lookup obj 'x'}}{{log a}}{{#if a}}{{/if}}").unknown_helpers == ()


def test_empty_paths_are_the_context_itself() -> None:
    data = {"obj": {"x": "X", "": "after a name"}, "list": ["a", "b"], "": "never read"}
    template = compile_template("{{#with list}}{{''}}|{{\"\"}}|{{[]}}|{{[].x}}|{{@[]}}|{{this.[]}}{{/with}}")
    assert template.render(data, Escaping.NONE) == "a,b|a,b|a,b|a,b|a,b|a,b"
    assert compile_template("{{#each list}}{{../[]}}{{/each}}").render({"list": [1]}, Escaping.NONE) == (
        "[object Object]"
    )
    assert compile_template("{{#each []}}{{@key}}={{this}} {{/each}}").render(
        {"k": 1, "v": 2}, Escaping.NONE
    ) == ("k=1 v=2 ")
    assert compile_template("{{lookup [] 'k'}}{{#[]}}{{k}}{{/[]}}").render({"k": "<"}, Escaping.HTML) == (
        "&lt;&lt;"
    )
    assert compile_template("{{obj.[]}}").render(data, Escaping.NONE) == "after a name"  # a key "", then


def test_raw_blocks_render_their_text_as_is() -> None:
    template = compile_template("{{{{raw}}}} {{x}} {{{{b}}}}{{{{/b}}}} {{{{/raw}}}}")
    assert template.render({"raw": True}, Escaping.HTML) == " {{x}} {{{{b}}}}{{{{/b}}}} "
    assert template.render({"raw": [1, 2]}, Escaping.NONE) == " {{x}} {{{{b}}}}{{{{/b}}}} " * 2
    assert template.render({"raw": False}, Escaping.NONE) == ""
    with pytest.raises(MissingVariableError, match='"raw" not defined'):
        template.render({}, Escaping.NONE)
    each = compile_template("a\n{{{{each list}}}}\n<{{this}}>\n{{{{/each}}}}\nb")
    assert each.render({"list": [1, 2]}, Escaping.NONE) == "a\n<{{this}}>\n<{{this}}>\nb"


LAYOUT = '{{#*inline "layout"}}<main>{{> @partial-block}}</main>{{/inline}}'


def test_a_partial_block_is_the_partial_s_partial_block_or_its_default() -> None:
    data = {"title": "T<", "items": [1, 2]}
    page = compile_template(LAYOUT + "{{#> layout}}{{title}}{{/layout}}")
    assert page.render(data, Escaping.HTML) == "<main>T&lt;</main>"
    assert compile_template("{{#> layout}}default {{title}}{{/layout}}").render(data, Escaping.NONE) == (
        "default T<"
    )
    nested = (
        LAYOUT
        + '{{#*inline "box"}}[{{> @partial-block}}]{{/inline}}{{#> layout}}{{#> box}}in{{/box}}{{/layout}}'
    )
    assert compile_template(nested).render(data, Escaping.NONE) == "<main>[in]</main>"
    each = (
        '{{#*inline "row"}}{{#each items}}{{> @partial-block}}{{/each}}{{/inline}}'
        "{{#> row}}<{{this}}{{@index}}{{../title}}>{{/row}}"
    )
    assert compile_template(each).render(data, Escaping.NONE) == "<10T<><21T<>"


def test_a_partial_block_pushes_its_context_only_when_it_is_a_new_one() -> None:
    """As Handlebars.js's partialBlockWrapper: `../` inside reaches past the context it was written in."""
    data = {"name": "outer", "child": {"name": "inner"}}
    same = '{{#*inline "p"}}{{> @partial-block}}{{/inline}}{{#with child}}{{#> p}}{{../name}}{{/p}}{{/with}}'
    assert compile_template(same).render(data, Escaping.NONE) == "outer"
    # in a partial called with null, the depths are empty: the default renders with no context
    empty = '{{#*inline "p"}}{{#> q}}[{{this}}]{{/q}}{{/inline}}{{> p null}}'
    assert compile_template(empty).render({}, Escaping.NONE) == "[]"


def test_partial_block_as_a_condition_renders_it_with_no_context() -> None:
    probe = '{{#*inline "p"}}{{#if @partial-block}}Y{{else}}N{{/if}}{{/inline}}'
    assert compile_template(probe + "{{> p}}{{#> p}}x{{/p}}{{#> p}}{{/p}}").render({}, Escaping.NONE) == "NYN"
    with pytest.raises(MissingVariableError, match='"a" not defined in undefined'):
        compile_template(probe + "{{#> p}}{{a}}{{/p}}").render({"a": 1}, Escaping.NONE)
    with_ = '{{#*inline "p"}}{{#with @partial-block}}<{{this}}>{{/with}}{{/inline}}{{#> p}}x{{../a}}{{/p}}'
    assert compile_template(with_).render({"a": 1}, Escaping.NONE) == "<x1>"


def test_partial_block_is_not_a_value_to_print_or_a_section() -> None:
    template = compile_template('{{#*inline "p"}}{{@partial-block}}{{/inline}}{{#> p}}x{{/p}}')
    with pytest.raises(TemplateRenderError, match=r"render it with \{\{> @partial-block\}\}"):
        template.render({}, Escaping.NONE)
    section = compile_template(
        '{{#*inline "p"}}{{#@partial-block}}y{{/@partial-block}}{{/inline}}{{#> p}}x{{/p}}'
    )
    with pytest.raises(TemplateRenderError, match="is not a section"):
        section.render({}, Escaping.NONE)
    # reached by a path that cannot name a helper, it is called, as Handlebars' resolvePossibleLambda does
    called = compile_template(
        '{{#*inline "q"}}[{{this}}]{{/inline}}{{#*inline "p"}}{{> q @partial-block}}{{/inline}}'
        "{{#> p}}x{{/p}}"
    )
    assert called.render({}, Escaping.NONE) == "[x]"


def test_partials_with_a_hash_or_a_dynamic_name() -> None:
    partials = '{{#*inline "p"}}{{x}}/{{a}}{{/inline}}{{#*inline "undefined"}}U{{/inline}}'
    assert (
        compile_template(partials + "{{> p x=1}} {{> p obj x=2}}").render(
            {"a": "A", "obj": {"a": "B"}}, Escaping.NONE
        )
        == "1/A 2/B"
    )
    dynamic = compile_template(partials + "{{> (lookup . 'which') x=3}}")
    assert dynamic.render({"which": "p", "a": "A"}, Escaping.NONE) == "3/A"
    assert dynamic.render({"which": None}, Escaping.NONE) == "U"
    with pytest.raises(TemplateRenderError, match="The partial nope could not be found"):
        dynamic.render({"which": "nope"}, Escaping.NONE)


def test_a_partial_that_is_not_defined_fails_only_where_the_render_reaches_it() -> None:
    template = compile_template("{{#if show}}{{> nope}}{{> constructor}}{{/if}}")
    assert template.render({"show": False}, Escaping.NONE) == ""
    with pytest.raises(TemplateRenderError, match="The partial nope could not be found"):
        template.render({"show": True}, Escaping.NONE)
    with pytest.raises(TemplateRenderError, match="cannot be named constructor"):
        compile_template("{{> constructor}}").render({}, Escaping.NONE)
    assert (
        compile_template('{{#*inline "constructor"}}C{{/inline}}{{> constructor}}').render({}, Escaping.NONE)
        == "C"
    )


def test_log_renders_nothing() -> None:
    template = compile_template(
        '{{log a}}{{log}}{{#log a level="error"}}body{{/log}}|{{#if (log a)}}y{{else}}n{{/if}}'
    )
    assert template.render({"a": "<secret>"}, Escaping.NONE) == "|n"


def test_a_block_lookup_is_a_value_escaped_in_html_and_reported_as_raw_output() -> None:
    template = compile_template("{{#lookup . 'h'}}ignored{{/lookup}}")
    assert template.render({"h": "<b>"}, Escaping.HTML) == "&lt;b&gt;"
    assert template.render({"h": "<b>"}, Escaping.NONE) == "<b>"
    assert template.raw_outputs == ("line 1: {{#lookup ...}} (a block's value)",)


def test_a_hash_is_evaluated_as_the_object_literal_handlebars_js_builds_for_it() -> None:
    template = compile_template("{{#if zero includeZero=true includeZero=false}}zero{{/if}}")
    assert template.render({"zero": 0}, Escaping.NONE) == "zero"  # a repeated key keeps its first value
    # integer-like keys first, then the others from last to first: the helper that does not exist fails first
    for source in ("{{log 1=(fmt) y=missing.deep}}", "{{log x=missing.deep y=(fmt)}}"):
        with pytest.raises(TemplateRenderError, match="unknown helper 'fmt'") as failed:
            compile_template(source).render({}, Escaping.NONE)
        assert not isinstance(failed.value, MissingVariableError)


def test_half_of_an_astral_character_is_the_replacement_character() -> None:
    template = compile_template("{{lookup s 1}}|{{lookup s 1}}{{lookup s 2}}|{{lookup s 'length'}}")
    rendered = template.render({"s": "a\U0001f600b"}, Escaping.NONE)
    assert rendered == "\ufffd|\U0001f600|4"
    rendered.encode("utf-8")  # what SES is sent
    first_astral = compile_template("{{lookup s 'length'}}|{{lookup s 0}}|{{lookup s 0}}{{lookup s 1}}")
    assert first_astral.render({"s": "\U00010000"}, Escaping.NONE) == "2|\ufffd|\U00010000"
    last_of_the_bmp = compile_template("{{lookup s 'length'}}|{{lookup s 0}}")
    assert last_of_the_bmp.render({"s": "\uffff"}, Escaping.NONE) == "1|\uffff"
