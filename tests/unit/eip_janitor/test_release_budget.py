"""The cap: oldest idle tag first, across regions, deterministic."""

from __future__ import annotations

from datetime import timedelta

from eip_janitor.decisions import Action, Decision
from eip_janitor.release_budget import Candidate, choose
from tests.unit.eip_janitor.addresses import NOW


def candidate(region: str, allocation_id: str, days_idle: float | None) -> Candidate:
    since = None if days_idle is None else NOW - timedelta(days=days_idle)
    return Candidate(region, Decision(Action.RELEASE, allocation_id, "", since), {})


def test_oldest_first_across_regions_and_rest_deferred() -> None:
    fleet = [
        candidate("us-east-1", "a", 8),
        candidate("eu-west-1", "b", 30),
        candidate("us-east-1", "c", 9),
        candidate("eu-west-1", "d", None),  # untagged (grace 0): unknown age goes last
    ]
    chosen, deferred = choose(fleet, 2)
    assert [c.allocation_id for c in chosen] == ["b", "c"]
    assert [c.allocation_id for c in deferred] == ["a", "d"]


def test_ties_break_by_region_then_id_whatever_the_input_order() -> None:
    fleet = [candidate("us-east-1", "z", 8), candidate("eu-west-1", "y", 8), candidate("eu-west-1", "x", 8)]
    assert [c.allocation_id for c in choose(fleet, 2)[0]] == ["x", "y"]
    assert [c.allocation_id for c in choose(list(reversed(fleet)), 2)[0]] == ["x", "y"]


def test_zero_cap_defers_everything() -> None:
    chosen, deferred = choose([candidate("us-east-1", "a", 8)], 0)
    assert (chosen, len(deferred)) == ([], 1)
