"""`make timings` writes measured wall-clock figures into docs/performance.md, each with its machine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import timings
from bench.timings import BEGIN, END, STEPS, Timing

BUILD, DEMO = STEPS[0], STEPS[1]
NOTES = "# Performance\n\nHow it is measured.\n\n"
BENCH = "<!-- bench:begin -->\nbench table\n<!-- bench:end -->\n"


def _timing(step: timings.Step, seconds: float, ok: bool = True) -> Timing:
    return Timing(
        step,
        seconds,
        datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
        "2 cores, load 1.5 (5 min: 2.0)",
        "92c0c76",
        ok,
    )


def _rows(document: str) -> list[str]:
    section = document.split(BEGIN)[1].split(END, maxsplit=1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and line != timings.HEADER]


def test_a_document_without_the_section_gets_it_appended_with_machine_and_commit(tmp_path: Path) -> None:
    path = tmp_path / "performance.md"
    path.write_text(NOTES + BENCH)

    timings.write([_timing(BUILD, 6.4)], path)

    document = path.read_text()
    assert document.startswith(NOTES + BENCH)  # the bench's own section is left alone
    assert _rows(document) == [
        "| build | `make build` when nothing changed (a no-op build) | 6 | 2026-12-06 12:00 "
        "| 2 cores, load 1.5 (5 min: 2.0) | 92c0c76 |"
    ]


def test_timing_some_steps_keeps_the_other_rows_and_orders_them_as_the_steps(tmp_path: Path) -> None:
    path = tmp_path / "performance.md"
    path.write_text(NOTES)
    timings.write([_timing(DEMO, 75.2)], path)

    timings.write([_timing(BUILD, 9.0), _timing(DEMO, 61.0, ok=False)], path)

    rows = _rows(path.read_text())
    assert [row.split("|")[1].strip() for row in rows] == ["build", "demo"]
    assert "| 61 (failed) |" in rows[1]
    assert path.read_text().count(BEGIN) == 1


def test_an_empty_section_says_how_to_fill_it() -> None:
    assert "No step timed yet: run `make timings`." in timings.render_section({})


def test_the_machine_is_described_before_the_step_and_the_clock_brackets_it_alone() -> None:
    ticks: Iterator[float] = iter([100.0, 112.5])
    seen: list[str] = []

    def run(command: str) -> int:
        seen.append(command)
        return 0

    timing = timings.measure(BUILD, run, clock=lambda: next(ticks), machine=lambda: "2 cores, load 0.3")

    assert seen == ["make build", "make build"]  # the untimed build first, so the timed one is a no-op
    assert (timing.seconds, timing.machine, timing.ok) == (12.5, "2 cores, load 0.3", True)


def test_unknown_steps_are_refused_naming_the_known_ones() -> None:
    with pytest.raises(SystemExit, match="unknown step"):
        timings.chosen("build,nope")
    assert [s.name for s in timings.chosen("test-local, build")] == ["build", "test-local"]
    assert timings.chosen("") == list(STEPS)


def test_the_docs_state_no_timing_by_hand() -> None:
    """A wall-clock figure for an everyday command lives in the timings section only."""
    root = Path(__file__).resolve().parents[2]
    typed = {
        "README.md": ["about 20 s", "min here"],
        "docs/development.md": ["about 20 s", "about 5 minutes"],
        "docs/cors-auditor.md": ["# ~"],
        "docs/eip-janitor.md": ["# ~"],
        "docs/email-sender.md": ["# ~"],
        "docs/testing.md": ["a run takes about"],
        "scripts/local/README.md": ["well under a second"],
    }
    found = [
        f"{name}: {phrase!r}"
        for name, phrases in typed.items()
        for phrase in phrases
        if phrase in (root / name).read_text(encoding="utf-8")
    ]
    assert found == []
