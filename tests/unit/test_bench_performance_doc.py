"""docs/performance.md is written by the bench: its generated section is replaced, the notes kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench import performance_doc
from bench.performance_doc import BEGIN, END, RunInfo

ROWS: list[dict[str, Any]] = [
    {"id": "P2", "figure": "calls per 1,000 uploads", "ours": 1, "baseline": 1000, "ratio": 0.001},
    {"id": "P5", "figure": "layer size", "ours": 6.2, "baseline": 10.0, "ratio": 0.62, "unit": "MB"},
    {"id": "X1", "figure": "a | in a cell", "ours": None, "note": "two\nlines"},
]
INFO = RunInfo(
    when=datetime(2026, 12, 6, 11, 30, tzinfo=UTC), machine="2 cores, 24 GiB, x86_64", commit="1a5b436"
)
NOTES = "\n\n## Notes\n\nkept\n"


def _table_lines(document: str) -> list[str]:
    section = document.split(BEGIN)[1].split(END, maxsplit=1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def test_a_missing_file_is_written_with_the_header_and_the_table(tmp_path: Path) -> None:
    path = performance_doc.write(ROWS, INFO, tmp_path / "performance.md")

    document = path.read_text(encoding="utf-8")
    assert document.startswith("# Performance\n")
    assert "2026-12-06 11:30 UTC, on 2 cores, 24 GiB, x86_64, at commit 1a5b436" in document
    assert _table_lines(document) == [
        "| id | figure | ours | baseline | ratio | unit | note |",
        "|---|---|---|---|---|---|---|",
        "| P2 | calls per 1,000 uploads | 1 | 1000 | 0.001 | - | - |",
        "| P5 | layer size | 6.2 | 10 | 0.62 | MB | - |",
        "| X1 | a \\| in a cell | - | - | - | - | two lines |",
    ]


def test_only_the_section_between_the_markers_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "performance.md"
    path.write_text(f"# Performance\n\nHow it is measured.\n\n{BEGIN}\nold table\n{END}{NOTES}")

    performance_doc.write(ROWS[:1], INFO, path)

    document = path.read_text(encoding="utf-8")
    assert document.startswith("# Performance\n\nHow it is measured.\n\n" + BEGIN)
    assert document.endswith(END + NOTES)
    assert "old table" not in document
    assert len(_table_lines(document)) == 3


@pytest.mark.parametrize(
    "document", ["no markers", f"{BEGIN} {BEGIN} {END}", f"{END} before {BEGIN}", f"{BEGIN} only"]
)
def test_a_document_without_one_pair_of_markers_is_refused(document: str) -> None:
    with pytest.raises(ValueError, match="bench:begin"):
        performance_doc.replace_section(document, "section")


def test_the_repository_document_has_its_generated_section() -> None:
    document = performance_doc.DOC.read_text(encoding="utf-8")

    replaced = performance_doc.replace_section(document, performance_doc.render_section(ROWS, INFO))

    assert replaced.count(BEGIN) == 1
    assert "at commit 1a5b436" in replaced


def test_the_machine_and_commit_are_described_without_failing(tmp_path: Path) -> None:
    info = performance_doc.this_run(tmp_path)

    assert "cores" in info.machine
    assert info.commit == "unknown (not a git checkout)"
