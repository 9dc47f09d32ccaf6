"""Prints every soak suite's tally as one table at the end of the run (`make soak`)."""

from __future__ import annotations

from typing import Any

from tests.soak.report import PUBLISHED, profile, seed, table


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not PUBLISHED:
        return  # nothing ran in this process (pytest-xdist runs the suites in its workers)
    terminalreporter.section(f"soak results (SOAK_PROFILE={profile()}, SOAK_SEED={seed()})")
    terminalreporter.write_line(table(list(PUBLISHED)))
