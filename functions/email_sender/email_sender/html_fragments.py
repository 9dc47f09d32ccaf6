"""Producers' HTML fragments in an HTML part: what `{{{x}}}` and `{{& x}}` write, sanitized with nh3.

A template asks for raw data with a triple-stash when a producer sends markup (table rows, a formatted
comment). The value is cleaned to an allowlist (docs/email-sender.md, "HTML safety"): tables, text formatting,
lists, https and mailto links, https images and inline styles from a safe subset survive; scripts, event
handlers, `javascript:` and `data:` URLs, forms, frames, objects, SVG and MathML, `<style>` and anything
else that can run, submit or restyle the whole email do not.

A sanitized fragment is markup, so it is only safe where markup goes: between tags. Rendering writes a
placeholder for each raw value; `place_fragments` then reads the rendered part as an HTML tokenizer does and
puts back, at each placeholder, the sanitized fragment where it stands in element content, or the value
escaped (as `{{x}}`) anywhere else: inside a tag (an attribute), a comment, or the text of `<style>`,
`<script>`, `<title>`, `<textarea>` and the like. nh3 (ammonia) parses a fragment as the content of a
`<div>`, where `<tr>` and `<td>` mean nothing; a fragment that starts with a table part is parsed inside
the table elements it needs, which are then taken off again.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import nh3

from email_sender.handlebars import escape_html, utf8_safe

# Elements a fragment keeps. Not: script, style, link, meta, base, form and its controls, iframe, frame,
# object, embed, applet, svg, math, video, audio, map/area, template, details: they run code, submit,
# load or embed something, restyle the email, or parse as foreign content.
ALLOWED_TAGS = frozenset(
    {
        *("a", "abbr", "b", "bdi", "bdo", "big", "blockquote", "br", "caption", "center", "cite", "code"),
        *("col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4"),
        *("h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp"),
        *("small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th"),
        *("thead", "tr", "tt", "u", "ul", "var", "wbr"),
    }
)
# Attributes any kept element may have: presentation only (`class` picks styles the template itself wrote).
GENERIC_ATTRIBUTES = frozenset(
    {"align", "bgcolor", "class", "dir", "height", "lang", "style", "title", "valign", "width"}
)
# Attributes of one element besides those. href, src and cite are URLs: only URL_SCHEMES pass.
TAG_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "border"}),
    "table": frozenset({"border", "cellpadding", "cellspacing", "summary"}),
    "td": frozenset({"colspan", "rowspan", "nowrap"}),
    "th": frozenset({"colspan", "rowspan", "nowrap", "scope"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "type", "reversed"}),
    "ul": frozenset({"type"}),
    "li": frozenset({"value"}),
    "font": frozenset({"color", "face", "size"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "hr": frozenset({"size"}),
}
# Absolute URLs of these schemes only: no http (an email's link should not travel in clear), no data:
# (a phishing page or a script in a link), no javascript:; relative URLs mean nothing in an email.
URL_SCHEMES = frozenset({"https", "mailto"})
# Every link gets it: the page it opens cannot reach back into the webmail's window, nor learn the referrer.
LINK_REL = "noopener noreferrer"
# Inline style properties kept: colour, type, spacing, borders and sizes. Not position, top/left, z-index,
# transform, float, content, background(-image), or anything that takes a URL: they lay the fragment over
# the template's own content or fetch something.
STYLE_PROPERTIES = frozenset(
    {
        *("color", "background-color", "font", "font-family", "font-size", "font-style", "font-variant"),
        *("font-weight", "line-height", "letter-spacing", "word-spacing", "text-align", "text-decoration"),
        *("text-indent", "text-transform", "white-space", "word-break", "word-wrap", "overflow-wrap"),
        *("vertical-align", "direction", "display", "width", "min-width", "max-width", "height"),
        *("min-height", "max-height", "padding", "padding-top", "padding-right", "padding-bottom"),
        *("padding-left", "margin", "margin-top", "margin-right", "margin-bottom", "margin-left"),
        *("border", "border-top", "border-right", "border-bottom", "border-left", "border-color"),
        *("border-style", "border-width", "border-collapse", "border-spacing", "border-radius"),
        *("list-style-type", "list-style-position", "table-layout", "empty-cells", "caption-side"),
    }
)
# A kept declaration's value: words, numbers, units, colours, quotes, commas, `!important`, and no function
# but rgb()/rgba()/hsl()/hsla(). So no url(), expression(), var(), no backslash escape, no comment, and no
# negative number (a negative margin pulls the fragment over what the template put around it).
_STYLE_VALUE = re.compile(r"(?:[A-Za-z0-9#%.,'\"!/+\s]|-(?=[A-Za-z_-])|(?:rgba?|hsla?)\([0-9.,%\s/]*\))*")


def _clean_style(value: str) -> str | None:
    """The declarations of a style attribute that may stay, as `name:value;...`; None if none may."""
    kept = []
    for declaration in value.split(";"):
        name, colon, rest = declaration.partition(":")
        name, rest = name.strip().lower(), rest.strip()
        if colon and rest and name in STYLE_PROPERTIES and _STYLE_VALUE.fullmatch(rest):
            kept.append(f"{name}:{rest}")
    return ";".join(kept) or None


def _filter_attribute(_element: str, attribute: str, value: str) -> str | None:
    return _clean_style(value) if attribute == "style" else value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},  # dropped with their text, not just their tags
    attributes={"*": set(GENERIC_ATTRIBUTES), **{tag: set(names) for tag, names in TAG_ATTRIBUTES.items()}},
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel=LINK_REL,
    url_schemes=set(URL_SCHEMES),
    url_relative="deny",
)

# A fragment that starts with a table part, and the elements it is parsed inside so that it means what it
# says (in a <div>, an HTML parser drops <tr>, <td> and their kin and keeps only their text).
_TABLE_CONTEXT: Mapping[str, tuple[str, ...]] = {
    "tr": ("table", "tbody"),
    "td": ("table", "tbody", "tr"),
    "th": ("table", "tbody", "tr"),
    "tbody": ("table",),
    "thead": ("table",),
    "tfoot": ("table",),
    "caption": ("table",),
    "colgroup": ("table",),
    "col": ("table", "colgroup"),
}
_FIRST_TAG = re.compile(r"\s*<([A-Za-z][A-Za-z0-9]*)")
# nh3's output, token by token: a tag (its attribute values always double-quoted) or text (`<` escaped).
_SERIALIZED = re.compile(r'<(/?)([a-z][a-z0-9]*)(?:[^>"]|"[^"]*")*>|[^<]+')
_VOID = frozenset({"br", "col", "hr", "img", "wbr"})


def sanitize(fragment: str) -> str:
    """`fragment` cleaned to the allowlist: markup that is safe in element content, closed and balanced."""
    first = _FIRST_TAG.match(fragment)
    context = _TABLE_CONTEXT.get(first.group(1).lower()) if first else None
    if context:
        opening = "".join(f"<{name}>" for name in context)
        closing = "".join(f"</{name}>" for name in reversed(context))
        cleaned = _CLEANER.clean(opening + fragment + closing)
        if cleaned.startswith(opening) and cleaned.endswith(closing):
            inner = cleaned[len(opening) : len(cleaned) - len(closing)]
            if _balanced(inner):
                return inner
        # Text or a second table outside the parts: the parser moved it out of the context. Cleaned as it
        # stands, in a <div>, the fragment loses its table structure but stays whole and closed.
    return _CLEANER.clean(fragment)


def _balanced(serialized: str) -> bool:
    """Whether nh3's output is whole elements only: no end tag closes anything it did not open."""
    depth = 0
    for token in _SERIALIZED.finditer(serialized):
        if token.group(2) is None or token.group(2) in _VOID:
            continue
        depth += -1 if token.group(1) else 1
        if depth < 0:
            return False
    return depth == 0


# -- placing fragments -------------------------------------------------------------------------------

# Elements whose content is text to an HTML parser (RAWTEXT, RCDATA, script data), up to their end tag.
_TEXT_ELEMENTS = frozenset(
    {"iframe", "noembed", "noframes", "noscript", "script", "style", "textarea", "title", "xmp"}
)
# Markup as HTML5's tokenizer reads it from a `<`: a comment (up to `-->` or `--!>`; `<!-->` and `<!--->`
# end at once), a start or end tag with its attributes (a quoted value may hold `>`; an unclosed quote or
# tag runs to the end), or a declaration or bogus comment (up to `>`). A `<` that starts none of these is
# text, except before a placeholder (U+E000): the value put there may start a tag name. Atomic groups and
# possessive quantifiers: no backtracking, whatever the input.
_MARKUP = re.compile(
    r"""<!--(?>-?>|.*?(?:--!?>|\Z))
    | <(?P<tag>/?[A-Za-z\ue000][^\t\n\f\r\x20/>]*+)
      (?>[\t\n\f\r\x20/]*+[^\t\n\f\r\x20/>][^\t\n\f\r\x20/>=]*+
         (?>[\t\n\f\r\x20]*+=[\t\n\f\r\x20]*+(?>"[^"]*+(?:"|\Z)|'[^']*+(?:'|\Z)|[^\t\n\f\r\x20>]*+))?)*+
      [\t\n\f\r\x20/]*+(?:>|\Z)
    | <[!?/][^>]*+(?:>|\Z)""",
    re.DOTALL | re.VERBOSE,
)


def _outside_content(html: str, until: int) -> list[tuple[int, int]]:
    """The spans of `html` up to `until` (the last may run past it) that are not element content: tags,
    comments, declarations, and the text of the elements in _TEXT_ELEMENTS. Sorted and disjoint."""
    spans: list[tuple[int, int]] = []
    end = 0
    while (markup := _MARKUP.search(html, end)) and markup.start() < until:
        end = markup.end()
        tag = (markup.group("tag") or "").lower()
        if "\ue000" in tag:
            # A raw value in a tag's name (`<{{{a}}}`, `<h{{{n}}}`): escaped, it still names the element,
            # which may be any, a <script> too, and what follows may be its attributes (`<{{{a}}} {{{b}}}>`
            # written `<img src=x onerror=...>`). Nothing after it is known to be element content.
            end = len(html)
        elif tag in _TEXT_ELEMENTS:
            closing = re.compile(rf"</{tag}[\t\n\f\r />]", re.IGNORECASE).search(html, end)
            end = closing.start() if closing else len(html)
            if tag == "script" and "<!--" in html[markup.end() : end]:
                end = len(html)  # script data's escape states: where it ends is not worth guessing
        elif tag == "plaintext":
            end = len(html)
        spans.append((markup.start(), end))
    return spans


@dataclass
class Fragments:
    """The raw values of one render of an HTML part: the `raw` hook of Template.render, then place()."""

    values: list[str] = field(default_factory=list)
    # Per render, 64 random bits: data cannot forge a placeholder it cannot guess.
    nonce: str = field(default_factory=lambda: os.urandom(8).hex())

    def __call__(self, value: str) -> str:
        if not value:
            return ""
        # A JavaScript string may hold half of an emoji (a lone surrogate), which nh3 cannot take: it is
        # U+FFFD, as it is when the part is sent.
        self.values.append(utf8_safe(value))
        return f"\ue000{self.nonce}:{len(self.values) - 1}\ue001"

    def place(self, html: str) -> str:
        """`html` with each placeholder replaced: the sanitized fragment in element content, else the value
        escaped. The placeholders hold no character that HTML's tokenizer acts on, so the part reads the
        same with them as with any other text in their place."""
        if not self.values:
            return html
        found = list(re.finditer(rf"\ue000{self.nonce}:(\d+)\ue001", html))
        outside = _outside_content(html, found[-1].end()) if found else []
        starts = [start for start, _ in outside]
        pieces = []
        done = 0
        for placeholder in found:
            at = placeholder.start()
            before = bisect.bisect_right(starts, at) - 1
            in_content = before < 0 or outside[before][1] <= at
            value = self.values[int(placeholder.group(1))]
            pieces += [html[done:at], sanitize(value) if in_content else escape_html(value)]
            done = placeholder.end()
        pieces.append(html[done:])
        return "".join(pieces)
