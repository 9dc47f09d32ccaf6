"""A failed run delivered again (Lambda's at-least-once async delivery, or an operator's re-drive) releases,
together with the first attempt, no more than MAX_RELEASES_PER_RUN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from eip_janitor.handlers import schedule
from eip_janitor.run_ledger import RunLedger
from eip_janitor.settings import Settings
from groundskeeper.aws_clients import client
from tests.conftest import load_event
from tests.integration.eip_janitor.conftest import EVENT, IDLE, Fleet, days_ago, janitor_ec2

CAP = 4


class RunCrashed(RuntimeError):
    """Stands for what ends a run part-way: a timeout, an out-of-memory kill."""


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Callable[..., dict[str, Any]]:
    def run(event_id: str | None = None, **overrides: Any) -> dict[str, Any]:
        settings = replace(
            Settings(dry_run=False, regions=("us-east-1",), max_releases_per_run=CAP), **overrides
        )
        monkeypatch.setattr(schedule, "SETTINGS", settings)
        event = load_event(EVENT)
        if event_id is not None:
            event["id"] = event_id
        result: dict[str, Any] = schedule.lambda_handler(event, lambda_context)
        return result

    return run


def crash_after(releases: int) -> Callable[..., None]:
    """The run dies on its (releases + 1)-th ReleaseAddress, after `releases` went through."""
    done: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        if len(done) == releases:
            raise RunCrashed(f"the run ended after {releases} releases")
        done.append(str(params))

    janitor_ec2().meta.events.register("before-call.ec2.ReleaseAddress", count)
    return count


def stop_crashing(hook: Callable[..., None]) -> None:
    janitor_ec2().meta.events.unregister("before-call.ec2.ReleaseAddress", hook)


def seed(fleet: Fleet, count: int) -> set[str]:
    return {fleet.allocate(**{IDLE: days_ago(30 + i)}) for i in range(count)}


def test_a_retried_run_releases_no_more_than_the_cap_in_total(
    fleet: Fleet, invoke: Callable[..., dict[str, Any]], ledger_table: str
) -> None:
    seeded = seed(fleet, 7)
    hook = crash_after(2)

    with pytest.raises(RunCrashed):
        invoke(run_ledger_table=ledger_table)
    stop_crashing(hook)
    after_failure = seeded - set(fleet.addresses())
    assert len(after_failure) == 2

    retry = invoke(run_ledger_table=ledger_table)  # the same event id, as Lambda or a re-drive sends it

    released_in_total = seeded - set(fleet.addresses())
    assert len(released_in_total) <= CAP
    # The crashed attempt claimed the whole cap before releasing: the retry releases nothing and says so.
    assert (retry["released_count"], retry["deferred_count"]) == (0, 5)
    assert RunLedger(client("dynamodb"), ledger_table).claimed(retry["run_id"]) == CAP


def test_the_next_scheduled_run_has_its_own_budget(
    fleet: Fleet, invoke: Callable[..., dict[str, Any]], ledger_table: str
) -> None:
    seeded = seed(fleet, 6)
    invoke(run_ledger_table=ledger_table)
    invoke(run_ledger_table=ledger_table)  # a duplicate delivery: nothing left to spend

    tomorrow = invoke(event_id="a-later-scheduled-event", run_ledger_table=ledger_table)

    assert tomorrow["released_count"] == 2
    assert seeded & set(fleet.addresses()) == set()


def test_a_run_with_few_candidates_claims_only_what_it_attempts(
    fleet: Fleet, invoke: Callable[..., dict[str, Any]], ledger_table: str
) -> None:
    seed(fleet, 1)
    first = invoke(run_ledger_table=ledger_table)
    seed(fleet, 5)  # more idle addresses appear before the event is delivered again

    again = invoke(run_ledger_table=ledger_table)

    assert (first["released_count"], again["released_count"]) == (1, CAP - 1)


def test_a_dry_run_spends_no_budget(
    fleet: Fleet, invoke: Callable[..., dict[str, Any]], ledger_table: str
) -> None:
    seed(fleet, 3)

    report = invoke(dry_run=True, run_ledger_table=ledger_table)

    assert report["would_release_count"] == 3
    assert RunLedger(client("dynamodb"), ledger_table).claimed(report["run_id"]) == 0


def test_without_the_ledger_a_retry_starts_a_fresh_budget(
    fleet: Fleet, invoke: Callable[..., dict[str, Any]]
) -> None:
    # Why the template sets RUN_LEDGER_TABLE: the in-memory cap alone lets a redelivery exceed it.
    seeded = seed(fleet, 7)
    hook = crash_after(2)
    with pytest.raises(RunCrashed):
        invoke()
    stop_crashing(hook)

    invoke()

    assert len(seeded - set(fleet.addresses())) == 2 + CAP


def test_ledger_claims_add_up_and_never_pass_the_cap(ledger_table: str) -> None:
    ledger = RunLedger(client("dynamodb"), ledger_table)
    now = datetime.now(UTC)

    grants = [ledger.claim("run-1", wanted, CAP, now) for wanted in (1, 2, 5, 1)]

    assert grants == [1, 2, 1, 0]
    assert ledger.claimed("run-1") == CAP
    assert ledger.claim("run-2", 0, CAP, now) == 0
    assert ledger.claimed("run-2") == 0
