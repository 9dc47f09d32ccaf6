"""Checks that a template's HTML part is well-formed, because SES publishes broken HTML without a word."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that never have a closing tag.
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
_TAG_START = re.compile(r"<[A-Za-z/!?]")


class _StrictChecker(HTMLParser):
    """The standard library's tokenizer, plus the nesting rules it is too lenient to enforce."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open_tags: list[tuple[str, int]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_attributes(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.open_tags.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_attributes(tag, attrs)  # <br/>, <td/>: complete on its own

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        names = [name for name, _ in self.open_tags]
        if tag in VOID_ELEMENTS:
            self.problems.append(f"line {line}: </{tag}> closes a void element")
        elif not names:
            self.problems.append(f"line {line}: </{tag}> has no opening tag")
        elif names[-1] != tag:
            opened = self.open_tags[-1][1]
            self.problems.append(f"line {line}: </{tag}> closes <{names[-1]}> opened on line {opened}")
            if tag in names:  # unwind to the match, so that one slip is reported once
                del self.open_tags[len(names) - 1 - names[::-1].index(tag) :]
        else:
            self.open_tags.pop()

    def handle_data(self, data: str) -> None:
        if _TAG_START.search(data):
            self.problems.append(f"line {self.getpos()[0]}: a bare '<' starts something that is not a tag")

    def _check_attributes(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            self.problems.append(f"line {self.getpos()[0]}: <{tag}> repeats attribute(s) {repeated}")


def html_problems(html: str) -> list[str]:
    """Every well-formedness problem in `html` (empty when it is well-formed)."""
    checker = _StrictChecker()
    checker.feed(html)
    if checker.rawdata:  # what the tokenizer could not finish, e.g. "<div" or "<!-- ..." at the end
        checker.problems.append(f"unterminated markup at the end: {checker.rawdata[:40]!r}")
        checker.rawdata = ""
    checker.close()
    return checker.problems + [f"line {line}: <{tag}> is never closed" for tag, line in checker.open_tags]
