"""The recommended start: daily dry runs. They change nothing in the account, yet report from the first run
each idle address and the day a real run would release it, because the run ledger remembers when a dry run
first saw each address idle."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from eip_janitor.handlers import schedule
from eip_janitor.settings import Settings
from email_sender.template_store import check_template, load_bundled_template
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from tests.conftest import load_event
from tests.integration.eip_janitor.conftest import EVENT, IDLE, Fleet
from tests.integration.real_shapes import one_item_per_batch
from tests.lambda_context import FakeLambdaContext

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
GRACE = timedelta(hours=168)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def email_queue(aws: None) -> str:
    return str(boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="emails")["QueueUrl"])


@pytest.fixture
def run_at(
    monkeypatch: pytest.MonkeyPatch, ledger_table: str, email_queue: str
) -> Callable[..., tuple[dict[str, Any], dict[str, str] | None]]:
    """Run the handler as if at `moment`; returns its report and the email data it queued (or None)."""
    sqs = boto3.client("sqs", region_name="us-east-1")

    def run(moment: datetime, *, dry_run: bool) -> tuple[dict[str, Any], dict[str, str] | None]:
        class Clock(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                assert tz is UTC
                return moment

        monkeypatch.setattr(schedule, "datetime", Clock)
        settings = Settings(
            dry_run=dry_run,
            regions=("us-east-1",),
            run_ledger_table=ledger_table,
            notify=Notifier(email_queue, ("ops@example.com",)),
        )
        monkeypatch.setattr(schedule, "SETTINGS", settings)
        event = load_event(EVENT)
        event["id"] = f"scheduled-{iso(moment)}"
        report: dict[str, Any] = schedule.lambda_handler(event, FakeLambdaContext())
        messages = sqs.receive_message(QueueUrl=email_queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=email_queue, ReceiptHandle=message["ReceiptHandle"])
        assert len(messages) <= 1
        data = json.loads(messages[0]["Body"])["data"] if messages else None
        return report, data

    return run


def idle_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        entry["allocation_id"]: entry for r in report["regions"].values() for entry in r["idle_addresses"]
    }


def would_release(report: dict[str, Any]) -> set[str]:
    return {a for r in report["regions"].values() for a in r["would_release"]}


def rendered_text(data: dict[str, str]) -> str:
    template = load_bundled_template("eip-janitor-report")
    assert template is not None
    rendered = check_template(template).render(data)
    return f"{rendered.text}\n{rendered.html}"


def test_daily_dry_runs_report_from_the_first_and_list_what_a_real_run_releases(
    fleet: Fleet, run_at: Callable[..., tuple[dict[str, Any], dict[str, str] | None]]
) -> None:
    a, b = fleet.allocate(), fleet.allocate()  # idle, never tagged

    first, first_mail = run_at(START, dry_run=True)

    idle = idle_of(first)
    assert set(idle) == {a, b}
    assert {e["idle_since"] for e in idle.values()} == {iso(START)}
    assert {e["release_after"] for e in idle.values()} == {iso(START + GRACE)}
    assert would_release(first) == set()
    # Marking alone is mailed in a dry run: the email names each address and its date.
    assert first_mail is not None
    text = rendered_text(first_mail)
    assert a in text and b in text and iso(START + GRACE) in text
    assert "nothing was changed" in text

    run_at(START + timedelta(days=8), dry_run=True)
    c = fleet.allocate()  # idle only from the third run on
    third, third_mail = run_at(START + timedelta(days=16), dry_run=True)

    assert would_release(third) == {a, b}
    assert idle_of(third)[a]["idle_since"] == iso(START)
    assert idle_of(third)[c]["release_after"] == iso(START + timedelta(days=16) + GRACE)
    assert third_mail is not None and a in third_mail["summary"] and b in third_mail["summary"]
    # A dry run never writes nor removes a tag.
    assert all(fleet.tags(x) == {} for x in (a, b, c))

    real, real_mail = run_at(START + timedelta(days=16, hours=1), dry_run=False)

    released = {x for r in real["regions"].values() for x in r["released"]}
    assert released == would_release(third)
    assert set(fleet.addresses()) == {c}
    # The clock a dry run started carries over to the real run's tag: c is due on the date it was told.
    assert fleet.tags(c) == {IDLE: iso(START + timedelta(days=16))}
    assert real_mail is not None
    assert "nothing was changed" not in rendered_text(real_mail)


def test_the_memory_is_written_and_read_whole_when_dynamodb_processes_one_item_per_batch(
    fleet: Fleet, run_at: Callable[..., tuple[dict[str, Any], dict[str, str] | None]]
) -> None:
    idle = {fleet.allocate() for _ in range(3)}
    left = one_item_per_batch(client("dynamodb"))  # the janitor's own client

    run_at(START, dry_run=True)
    later, _ = run_at(START + timedelta(days=8), dry_run=True)

    assert would_release(later) == idle
    assert {idle_of(later)[a]["idle_since"] for a in idle} == {iso(START)}
    # Each batch of three was answered one item at a time: two left, then one, in each direction.
    assert left["BatchWriteItem"] == 3
    assert left["BatchGetItem"] == 3 * 2  # the first run asks too (for nothing), then the second


def test_a_dry_run_forgets_an_address_it_sees_in_use(
    fleet: Fleet, run_at: Callable[..., tuple[dict[str, Any], dict[str, str] | None]]
) -> None:
    address = fleet.allocate()
    run_at(START, dry_run=True)
    fleet.associate(address)
    run_at(START + timedelta(days=1), dry_run=True)
    fleet.ec2().disassociate_address(AssociationId=fleet.addresses()[address]["AssociationId"])

    later, _ = run_at(START + timedelta(days=8), dry_run=True)

    assert would_release(later) == set()
    assert idle_of(later)[address]["idle_since"] == iso(START + timedelta(days=8))


def test_a_manual_invoke_may_ask_a_real_janitor_for_a_dry_run_and_never_the_reverse(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = fleet.allocate(**{IDLE: "2026-01-01T00:00:00Z"})
    monkeypatch.setattr(schedule, "SETTINGS", Settings(dry_run=False, regions=("us-east-1",)))
    preview = schedule.lambda_handler({"dry_run": True}, FakeLambdaContext())
    assert (preview["dry_run"], preview["would_release_count"], preview["released_count"]) == (True, 1, 0)
    assert due in fleet.addresses()

    monkeypatch.setattr(schedule, "SETTINGS", Settings(dry_run=True, regions=("us-east-1",)))
    asked = schedule.lambda_handler({"dry_run": False}, FakeLambdaContext())
    assert (asked["dry_run"], asked["released_count"]) == (True, 0)
    assert due in fleet.addresses()
