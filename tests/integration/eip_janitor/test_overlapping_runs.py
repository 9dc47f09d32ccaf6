"""Two janitor runs of one account at the same time: the run ledger's lease lets only one act, without
reserved concurrency. A run that died holding the lease holds it only until the lease expires."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eip_janitor.handlers import schedule
from eip_janitor.run_ledger import LEASE_FOR, RunLedger
from eip_janitor.settings import Settings
from groundskeeper.aws_clients import client
from tests.conftest import load_event
from tests.integration.eip_janitor.conftest import EVENT, IDLE, Fleet, days_ago, janitor_ec2
from tests.lambda_context import FakeLambdaContext

ACCOUNT = FakeLambdaContext().invoked_function_arn.split(":")[4]


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, ledger_table: str) -> Callable[..., dict[str, Any]]:
    """The real handler, for the given scheduled event id, with the ledger the template configures."""
    settings = Settings(
        dry_run=False, regions=("us-east-1",), max_releases_per_run=1, run_ledger_table=ledger_table
    )
    monkeypatch.setattr(schedule, "SETTINGS", settings)

    def run(event_id: str, **overrides: Any) -> dict[str, Any]:
        if overrides:
            monkeypatch.setattr(schedule, "SETTINGS", replace(settings, **overrides))
        event = load_event(EVENT)
        event["id"] = event_id
        result: dict[str, Any] = schedule.lambda_handler(event, FakeLambdaContext(aws_request_id=event_id))
        return result

    return run


def test_a_run_that_starts_while_another_acts_does_nothing_and_says_so(
    fleet: Fleet, invoke: Callable[..., dict[str, Any]]
) -> None:
    due = {fleet.allocate(**{IDLE: days_ago(30 + i)}) for i in range(2)}
    fresh = fleet.allocate()  # idle, never tagged: the acting run marks it
    overlapping: list[dict[str, Any]] = []
    started: list[bool] = []

    def second_run_starts(**_: Any) -> None:
        # The first run is about to release: a second scheduled event arrives now, on another instance.
        if not started:
            started.append(True)
            overlapping.append(invoke("second-event"))

    janitor_ec2().meta.events.register("before-call.ec2.ReleaseAddress", second_run_starts)
    try:
        first = invoke("first-event")
    finally:
        janitor_ec2().meta.events.unregister("before-call.ec2.ReleaseAddress", second_run_starts)

    (second,) = overlapping
    # Each run has its own release budget (one each), so only the lease keeps them from doubling it.
    assert first["released_count"] == 1 and first["marked_count"] == 1
    assert (second["released_count"], second["marked_count"], second["would_release_count"]) == (0, 0, 0)
    assert second["regions"] == {}
    assert second["lease"]["status"] == "busy"
    assert second["lease"]["holder"] == "first-event"
    assert first["lease"]["status"] == "held"
    assert len(due - set(fleet.addresses())) == 1
    assert IDLE in fleet.tags(fresh)


def test_the_lease_is_given_back_at_the_end_of_a_run(
    fleet: Fleet, invoke: Callable[..., dict[str, Any]]
) -> None:
    fleet.allocate(**{IDLE: days_ago(30)})
    fleet.allocate(**{IDLE: days_ago(31)})

    first, second = invoke("monday"), invoke("tuesday")

    assert (first["lease"]["status"], second["lease"]["status"]) == ("held", "held")
    assert first["released_count"] == second["released_count"] == 1


def test_a_crashed_runs_lease_holds_off_runs_until_it_expires(
    fleet: Fleet, invoke: Callable[..., dict[str, Any]], ledger_table: str
) -> None:
    fleet.allocate(**{IDLE: days_ago(30)})
    # A run that timed out (or was killed) two minutes ago gives nothing back: its lease is as it took it.
    crashed = RunLedger(client("dynamodb"), ledger_table).take_lease(
        ACCOUNT, "crashed-event", datetime.now(UTC) - timedelta(minutes=2)
    )
    assert crashed["status"] == "held"

    soon_after = invoke("soon-after")

    assert (soon_after["lease"]["status"], soon_after["released_count"]) == ("busy", 0)
    assert soon_after["lease"]["holder"] == "crashed-event"


def test_a_crashed_runs_lease_expires(
    fleet: Fleet, invoke: Callable[..., dict[str, Any]], ledger_table: str
) -> None:
    fleet.allocate(**{IDLE: days_ago(30)})
    crashed = RunLedger(client("dynamodb"), ledger_table).take_lease(
        ACCOUNT, "crashed-event", datetime.now(UTC) - LEASE_FOR - timedelta(seconds=1)
    )
    assert crashed["status"] == "held"

    next_run = invoke("next-scheduled-event")

    assert (next_run["lease"]["status"], next_run["released_count"]) == ("held", 1)


def test_a_run_that_fails_gives_its_lease_back(fleet: Fleet, invoke: Callable[..., dict[str, Any]]) -> None:
    fleet.allocate(**{IDLE: days_ago(30)})

    def fail(**_: Any) -> None:
        raise RuntimeError("a bug")

    janitor_ec2().meta.events.register("before-call.ec2.ReleaseAddress", fail)
    try:
        with pytest.raises(RuntimeError):
            invoke("failing-event")
    finally:
        janitor_ec2().meta.events.unregister("before-call.ec2.ReleaseAddress", fail)

    assert invoke("next-event")["lease"]["status"] == "held"


def test_leases_are_per_account(ledger_table: str) -> None:
    """Hub mode: the workers sweep different member accounts at once; only one run per account acts."""
    ledger = RunLedger(client("dynamodb"), ledger_table)
    now = datetime.now(UTC)

    first = ledger.take_lease("111111111111", "run-1#111111111111", now)
    other_account = ledger.take_lease("222222222222", "run-1#222222222222", now)
    same_account = ledger.take_lease("111111111111", "run-2#111111111111", now)

    assert (first["status"], other_account["status"], same_account["status"]) == ("held", "held", "busy")
    assert same_account["holder"] == "run-1#111111111111"
    ledger.give_back("111111111111", same_account)  # not its lease: nothing happens
    assert ledger.take_lease("111111111111", "run-3#111111111111", now)["status"] == "busy"
    ledger.give_back("111111111111", first)
    assert ledger.take_lease("111111111111", "run-3#111111111111", now)["status"] == "held"
