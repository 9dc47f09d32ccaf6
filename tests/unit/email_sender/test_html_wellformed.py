"""The strict HTML check run before any template is published."""

from __future__ import annotations

import pytest

from email_sender.html_wellformed import html_problems


@pytest.mark.parametrize(
    "html",
    [
        "<p>hi</p>",
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title></head><body></body></html>",
        "<p>Line<br>break<br/>and <img src='x.png' alt=''> &amp; &nbsp; {{name}}</p>",
        '<p title="{{title}}">{{#if x}}<b>{{x}}</b>{{/if}}</p>',
        "<!-- a comment --><div/>",
        "x < y and y > z",
    ],
)
def test_well_formed(html: str) -> None:
    assert html_problems(html) == []


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>hi", "line 1: <p> is never closed"),
        ("<div><p>x</div>", "line 1: </div> closes <p> opened on line 1"),
        ("<p>hi</p>\n</div>", "line 2: </div> has no opening tag"),
        ("<br></br>", "</br> closes a void element"),
        ("<a href='a' href='b'>x</a>", "repeats attribute(s) ['href']"),
        ("<p>ok</p><div", "unterminated markup at the end: '<div'"),
        ("<p>ok</p><!-- never ends", "unterminated markup"),
    ],
)
def test_problems_are_reported(html: str, expected: str) -> None:
    assert any(expected in problem for problem in html_problems(html)), html_problems(html)


def test_one_slip_is_reported_once() -> None:
    assert html_problems("<div><p><b>x</p></div>") == ["line 1: </p> closes <b> opened on line 1"]
