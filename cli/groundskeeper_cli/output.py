"""What the CLI prints: tables or JSON on stdout, a plain-text progress bar on stderr, the exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

# 0: done, nothing at or above --fail-on; 1: findings (or failures) at or above it; 2: bad usage or settings.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
_BAR_WIDTH = 30


class Progress:
    """`label [#####.....] done/total` on stderr: redrawn in place on a terminal, every 10% otherwise."""

    def __init__(self, total: int, label: str, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.done = 0
        self._label = label
        self._stream = stream or sys.stderr
        self._enabled = enabled and total > 1
        self._tty = self._stream.isatty()
        self._last_decile = -1

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        if not self._enabled:
            return
        filled = _BAR_WIDTH * self.done // self.total
        line = f"{self._label} [{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {self.done}/{self.total}"
        if self._tty:
            self._stream.write("\r" + line + ("\n" if self.done == self.total else ""))
        else:
            decile = 10 * self.done // self.total
            if decile == self._last_decile:
                return
            self._last_decile = decile
            self._stream.write(line + "\n")
        self._stream.flush()


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A plain left-aligned table; lists are joined with commas, None shows as -."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value) or "-"
        return str(value)

    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    return "\n".join(lines)


def emit(document: Any, text: str, *, as_json: bool, stream: TextIO) -> None:
    stream.write((json.dumps(document, indent=2, default=str) if as_json else text) + "\n")
