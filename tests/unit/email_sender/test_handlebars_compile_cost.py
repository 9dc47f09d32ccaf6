"""What a compile costs grows with the template, never faster: scanning the text, trimming whitespace, and
the time it may take.

No timed assertion here: the work is counted (characters scanned) or the clock is a stand-in. The figures
(compile time per 100 KB, memory per compiled part) are the benchmark's (bench/renderer.py).
"""

from __future__ import annotations

import re
import uuid
from typing import Any, SupportsIndex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from email_sender.handlebars import CompileTimeUp, compile_template
from email_sender.handlebars.deadline import CHECK_EVERY, _Deadline
from email_sender.handlebars.js_values import _JS_WS
from email_sender.handlebars.nodes import _Content
from email_sender.handlebars.whitespace import _is_prev_whitespace, _omit_left


class _CountingSource(str):
    """A template source that counts the characters its `count` calls scan (how lines are numbered)."""

    scanned = 0

    def count(self, sub: str, start: SupportsIndex | None = None, end: SupportsIndex | None = None) -> int:
        first = 0 if start is None else int(start)
        last = len(self) if end is None else int(end)
        _CountingSource.scanned += max(0, last - first)
        return super().count(sub, start, end)


def _scanned_by_compile(source: str) -> int:
    _CountingSource.scanned = 0
    compile_template(_CountingSource(source))
    return _CountingSource.scanned


def test_numbering_lines_scans_the_source_once_however_many_tags_it_has() -> None:
    """Each tag's line was counted from the start: 16,000 tags scanned 1.5 billion characters of 250 KB."""
    row = "<tr><td>{{row.v%d}}</td>{{#if x}}<td>{{y}}</td>{{/if}}</tr>\n"
    lines = "".join(row % i for i in range(4000))
    scanned = _scanned_by_compile(lines)
    assert scanned <= len(lines)


def test_an_error_names_its_line_without_a_second_scan() -> None:
    source = "a\n" * 1000 + "{{#if x}}\n{{/unless}}"
    _CountingSource.scanned = 0
    try:
        compile_template(_CountingSource(source))
    except ValueError as exc:
        assert str(exc).startswith("line 1001: "), exc
    else:
        raise AssertionError("compiled a block closed by another name")
    assert _CountingSource.scanned <= len(source)


class _Clock:
    """Seconds that pass only when the compile looks at the clock: `step` per look."""

    def __init__(self, left: float, step: float) -> None:
        self.left, self.step, self.looks = left, step, 0

    def time_left(self) -> float:
        self.looks += 1
        self.left -= self.step
        return self.left


def _rows(n: int, marker: str) -> str:
    return "".join(f"<p>{{{{#if a}}}}{{{{b.c}}}}{{{{/if}}}} {marker}{i}</p>\n" for i in range(n))


def test_a_compile_stops_at_its_deadline_and_looks_at_the_clock_as_it_goes() -> None:
    clock = _Clock(left=5.0, step=1.0)
    with pytest.raises(CompileTimeUp):
        compile_template(_rows(2000, "stopped"), clock.time_left)
    assert clock.looks == 5  # once at the start, then every few hundred tokens or statements, until none left


def test_a_compile_within_its_deadline_is_cached_and_then_needs_no_time() -> None:
    # A text no other test (or earlier pytest session in this process) compiled: the cache lasts the process.
    source = _rows(2000, f"within-{uuid.uuid4().hex}")
    clock = _Clock(left=1000.0, step=1.0)
    template = compile_template(source, clock.time_left)
    assert clock.looks > 10  # during the compile, not only before it
    assert compile_template(source, lambda: 0.0) is template


def test_no_time_left_stops_a_compile_before_it_starts() -> None:
    clock = _Clock(left=0.5, step=1.0)
    with pytest.raises(CompileTimeUp):
        compile_template("{{never.compiled}}", clock.time_left)
    assert clock.looks == 1


# Handlebars' own patterns, which the whitespace control searched with until a run of whitespace made each
# search quadratic in the run's length; it now strips from the end, and must say the same.
_WS = f"[{_JS_WS}]"
_PREV = re.compile(rf"\r?\n{_WS}*?\Z")
_PREV_AT_ROOT_EDGE = re.compile(rf"(?:^|\r?\n){_WS}*?\Z")
_TEXT = st.text(alphabet=" \t\n\r\v\u00a0\u2028\u3000xy", max_size=40)


@given(_TEXT, st.booleans(), st.booleans())
def test_a_line_ending_in_whitespace_is_found_as_handlebars_finds_it(
    text: str, sibling: bool, root: bool
) -> None:
    body: list[Any] = [_Content("s", "s")] if sibling else []
    body.append(_Content(text, text))
    pattern = _PREV if sibling or not root else _PREV_AT_ROOT_EDGE
    assert bool(_is_prev_whitespace(body, None, root)) == (pattern.search(text) is not None)


@given(_TEXT, st.booleans())
def test_trailing_whitespace_is_trimmed_as_handlebars_trims_it(text: str, multiple: bool) -> None:
    content = _Content(text, text)
    _omit_left([content], None, multiple)
    assert content.value == re.sub(rf"{_WS}+\Z" if multiple else r"[ \t]+\Z", "", text, count=1)


@pytest.mark.parametrize(
    "source", ["{{a}}", "{{a.b}}", "{{./a}}", "{{../a}}", "{{@root.a}}", "{{[]}}", "{{{a.b}}}"]
)
def test_a_mustache_keeps_two_slotted_objects_whatever_its_path(source: str) -> None:
    """A large template keeps hundreds of thousands of mustaches: each is its output and its lookup, both
    slotted, and nothing more (a closure around a simple path's lookup kept half as much again)."""
    (statement,) = compile_template(f"<p>{source}</p>").program.body[1:2]
    output = statement.__self__  # type: ignore[union-attr]
    lookup = output.value.__self__
    for kept in (output, lookup):
        assert not hasattr(kept, "__dict__"), type(kept)


def test_the_deadline_is_asked_at_the_start_and_then_every_check_every_steps() -> None:
    steps: list[int] = [0]
    looks: list[int] = []

    def time_left() -> float:
        looks.append(steps[0])
        return 1.0

    deadline = _Deadline(time_left)
    while steps[0] < 3 * CHECK_EVERY:
        steps[0] += 1
        deadline.step()
    assert looks == [0, CHECK_EVERY, 2 * CHECK_EVERY, 3 * CHECK_EVERY]


def test_a_deadline_with_no_time_left_stops_the_compile_with_its_reason() -> None:
    with pytest.raises(CompileTimeUp) as stopped:
        _Deadline(lambda: 0.0)
    assert str(stopped.value) == "the compile reached its deadline before it ended"
    _Deadline(None).check()  # no deadline: never stops
