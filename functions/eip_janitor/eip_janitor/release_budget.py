"""The blast-radius cap: which release candidates, across all regions, this run may attempt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eip_janitor.decisions import Decision


@dataclass(frozen=True)
class Candidate:
    region: str
    decision: Decision
    address: dict[str, Any]

    @property
    def allocation_id(self) -> str:
        return self.decision.allocation_id


def _oldest_first(candidate: Candidate) -> tuple[bool, datetime, str, str]:
    # Untagged candidates (GRACE_PERIOD_HOURS=0) have no known age: they go after every tagged one.
    # Region and allocation id break ties, so the same fleet always gives the same choice.
    since = candidate.decision.idle_since
    return (since is None, since or datetime.min, candidate.region, candidate.allocation_id)


def choose(candidates: Iterable[Candidate], cap: int) -> tuple[list[Candidate], list[Candidate]]:
    """(to attempt, deferred): at most `cap` attempts, longest idle first; the rest wait for a later run."""
    ordered = sorted(candidates, key=_oldest_first)
    return ordered[:cap], ordered[cap:]
