"""Benchmark rows as one table: aligned text for the terminal, Markdown for docs/performance.md."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


HEADER = ["id", "figure", "ours", "baseline", "ratio", "unit", "note"]


def render(rows: Iterable[dict[str, Any]]) -> str:
    header = HEADER
    body = [[_fmt(row.get(key)) for key in header] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render_markdown(rows: Iterable[dict[str, Any]]) -> str:
    """The same cells as `render`, as a Markdown table (a `|` inside a cell is escaped)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        cells = [_fmt(row.get(key)).replace("|", "\\|").replace("\n", " ") for key in HEADER]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
