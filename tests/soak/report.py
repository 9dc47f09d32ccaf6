"""The soak suites' shared vocabulary: a size per profile, one tally per suite, and the table they print.

A suite asks `size(ci=..., full=...)` how much to do (SOAK_PROFILE=ci, the default, in `make test`;
SOAK_PROFILE=full in `make soak`), counts what it saw in a `Tally`, and hands it to `publish`. Every
published tally is printed once more, together, at the end of the pytest run (tests/soak/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

PROFILES = ("ci", "full")
COLUMNS = ("tried", "lost", "duplicated", "wrong", "crashed")
# The action soak's columns (tests/soak/test_actions_soak.py; defined in docs/soak.md).
ACTION_COLUMNS = ("tried", "acted", "reported", "lost", "duplicated", "unreported")
MAX_EXAMPLES = 5


def profile() -> str:
    chosen = os.environ.get("SOAK_PROFILE", "ci").strip().lower() or "ci"
    if chosen not in PROFILES:
        raise ValueError(f"SOAK_PROFILE must be one of {', '.join(PROFILES)}; got {chosen!r}")
    return chosen


def size(*, ci: int, full: int) -> int:
    return full if profile() == "full" else ci


def seed() -> int:
    """SOAK_SEED replays a run; the default is fixed, so a CI failure reproduces on any machine."""
    return int(os.environ.get("SOAK_SEED", "13"))


@dataclass
class Tally:
    """What one soak suite saw. `examples` keeps the first few failures, so a red run says what failed."""

    suite: str
    tried: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    crashed: int = 0
    seconds: float = 0.0
    notes: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def fail(self, column: str, example: str) -> None:
        """Count one failure in `column` (lost, duplicated, wrong or crashed) and keep its description."""
        if column not in COLUMNS[1:]:
            raise ValueError(f"not a failure column: {column!r}")
        setattr(self, column, getattr(self, column) + 1)
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{column}: {example}")

    def note(self, name: str, count: int = 1) -> None:
        """Count something worth showing beside the table (races injected, refusals, dry runs...)."""
        self.notes[name] = self.notes.get(name, 0) + count

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong or self.crashed)

    def summary(self) -> str:
        """The assertion message of a failed soak: the row, then what failed first."""
        return "\n".join([table([self]), *self.examples])


@dataclass
class ActionTally:
    """What one suite of the action soak saw: side effects made after a fault, and the emails that report
    them. `examples` keeps the first few failures."""

    suite: str
    tried: int = 0
    acted: int = 0
    reported: int = 0
    lost: int = 0
    duplicated: int = 0
    unreported: int = 0
    seconds: float = 0.0
    notes: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def fail(self, column: str, example: str) -> None:
        """Count one failure in `column` (lost, duplicated or unreported) and keep its description."""
        if column not in ACTION_COLUMNS[3:]:
            raise ValueError(f"not a failure column: {column!r}")
        setattr(self, column, getattr(self, column) + 1)
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{column}: {example}")

    def note(self, name: str, count: int = 1) -> None:
        self.notes[name] = self.notes.get(name, 0) + count

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.unreported)

    def summary(self) -> str:
        return "\n".join([table([self]), *self.examples])


def table(tallies: Iterable[Tally | ActionTally]) -> str:
    """One table per kind of tally: the soak suites' columns, then the action soak's."""
    tallies = list(tallies)
    plain = [t for t in tallies if isinstance(t, Tally)]
    actions = [t for t in tallies if isinstance(t, ActionTally)]
    parts = []
    if plain:
        rows = [
            [t.suite, *map(str, (t.tried, t.lost, t.duplicated, t.wrong, t.crashed)), f"{t.seconds:.1f}"]
            for t in plain
        ]
        parts.append(_render(["suite", *COLUMNS, "seconds"], rows, plain))
    if actions:
        rows = [
            [
                t.suite,
                *map(str, (t.tried, t.acted, t.reported, t.lost, t.duplicated, t.unreported)),
                f"{t.seconds:.1f}",
            ]
            for t in actions
        ]
        parts.append(_render(["suite", *ACTION_COLUMNS, "seconds"], rows, actions))
    return "\n\n".join(parts)


def _render(header: list[str], rows: list[list[str]], tallies: list[Tally] | list[ActionTally]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    lines = [line(header), rule, *(line(row) for row in rows)]
    for t in tallies:
        if t.notes:
            lines.append(f"  {t.suite}: " + ", ".join(f"{k} {v}" for k, v in sorted(t.notes.items())))
    return "\n".join(lines)


PUBLISHED: list[Tally | ActionTally] = []


def publish(tally: Tally | ActionTally) -> None:
    """Keep the tally for the end-of-run table and print it now (seen with -s)."""
    PUBLISHED.append(tally)
    print(f"\n[{profile()}] {table([tally])}")
