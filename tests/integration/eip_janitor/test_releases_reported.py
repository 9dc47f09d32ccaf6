"""Every release is written down before it is made and reported from what was written: a redelivery that
finds nothing due still reports the releases of its run, a release whose answer was lost is ours, and a run
that cannot start says why; faults injected by botocore hooks through the real handler."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from groundskeeper.action_journal import ADDRESS_RELEASE, ActionJournal
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from tests.integration.cors_auditor.conftest import JOURNAL_TABLE, create_journal_table, refuse
from tests.integration.eip_janitor.conftest import IDLE, Fleet, days_ago, ec2_error, janitor_ec2

Run = Callable[..., dict[str, Any]]
RUN_ID = "7bf73129-1428-4cd3-a780-95db273d1602"  # the id of events/schedule-eip-janitor.json
SCOPE = f"eip-janitor#{RUN_ID}"


@pytest.fixture
def journal(aws: None) -> ActionJournal:
    create_journal_table()
    return ActionJournal(client("dynamodb"), JOURNAL_TABLE)


@pytest.fixture
def email_queue(aws: None) -> str:
    return str(boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="emails")["QueueUrl"])


def emails(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def notifier(queue_url: str) -> Notifier:
    return Notifier(queue_url, ("ops@example.com",))


def test_the_report_fails_once_after_three_releases_and_the_redelivery_reports_them(
    fleet: Fleet, run_janitor: Run, journal: ActionJournal, ledger_table: str, email_queue: str
) -> None:
    due = {fleet.allocate(**{IDLE: days_ago(30 + n)}) for n in range(3)}
    refused = refuse(client("sqs"), "SendMessage", "AWS.SimpleQueueService.ServiceUnavailable", times=1)
    settings = {
        "journal_table": JOURNAL_TABLE,
        "run_ledger_table": ledger_table,
        "notify": notifier(email_queue),
    }

    with pytest.raises(Exception, match="ServiceUnavailable"):
        run_janitor(**settings)
    assert refused["AWS.SimpleQueueService.ServiceUnavailable"] == 1
    assert not due & set(fleet.addresses())  # released, and no email went out
    assert emails(email_queue) == []

    retry = run_janitor(**settings)  # the same event id: nothing is due any more

    region = retry["regions"]["us-east-1"]
    assert region["released"] == []
    assert sorted(region["released_earlier"]) == sorted(due)
    assert retry["released_count"] == 3
    (email,) = emails(email_queue)
    assert email["idempotency_key"] == f"eip-janitor:{RUN_ID}"  # the sender keeps it to one email
    assert email["data"]["released_count"] == "3"
    assert email["data"]["released_earlier_count"] == "3"
    assert all(a in email["data"]["summary"] for a in due)
    records = journal.records(SCOPE)
    assert {(r.kind, r.resource, r.status) for r in records} == {(ADDRESS_RELEASE, a, "done") for a in due}


@pytest.fixture
def lost_answer() -> Iterator[list[str]]:
    """The first ReleaseAddress reaches EC2 (moto releases the address) but its answer is lost: a 503 in
    its place, so botocore retries, and the retry finds the address gone. A `before-send` hook registered
    first answers before moto's, and moto still carries out the call."""
    lost: list[str] = []

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield b""

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        if "Action=ReleaseAddress" not in str(request.body) or lost:
            return None
        lost.append("ReleaseAddress")
        return AWSResponse(request.url, 503, {}, Raw())

    events = janitor_ec2().meta.events
    events.register_first("before-send.ec2.ReleaseAddress", hook)
    yield lost
    events.unregister("before-send.ec2.ReleaseAddress", hook)


def test_a_release_whose_answer_was_lost_is_released_by_us_with_its_recovery_line(
    fleet: Fleet,
    run_janitor: Run,
    journal: ActionJournal,
    lost_answer: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    address = fleet.allocate(**{IDLE: days_ago(30), "team": "web"})
    ip = fleet.addresses()[address]["PublicIp"]

    with caplog.at_level("INFO"):
        report = run_janitor(journal_table=JOURNAL_TABLE)

    assert lost_answer == ["ReleaseAddress"]
    assert address not in fleet.addresses()
    region = report["regions"]["us-east-1"]
    assert (region["released"], region["skipped"], region["errors"]) == ([address], [], [])
    (line,) = [vars(r) for r in caplog.records if r.getMessage() == "eip_released"]
    assert (line["public_ip"], line["allocation_id"], line["region"]) == (ip, address, "us-east-1")
    assert line["tags"]["team"] == "web"
    (record,) = journal.records(SCOPE)
    assert (record.status, record.before["public_ip"], record.before["tags"]["team"]) == ("done", ip, "web")


def test_invalid_address_not_found_on_release_is_already_released_not_a_failure(
    fleet: Fleet, run_janitor: Run, journal: ActionJournal
) -> None:
    gone = fleet.allocate(**{IDLE: days_ago(30)})
    janitor_ec2().meta.events.register(
        "before-call.ec2.ReleaseAddress", lambda **_: ec2_error("InvalidAddress.NotFound")
    )

    report = run_janitor(journal_table=JOURNAL_TABLE)

    region = report["regions"]["us-east-1"]
    assert region["errors"] == []
    assert region["skipped"] == [{"allocation_id": gone, "reason": "already released"}]
    assert (region["released"], report["released_count"]) == ([], 0)


@pytest.mark.parametrize("cause", ["ledger", "regions"])
def test_a_run_that_cannot_start_fails_closed_and_its_email_says_why(
    cause: str, fleet: Fleet, run_janitor: Run, ledger_table: str, email_queue: str
) -> None:
    due = fleet.allocate(**{IDLE: days_ago(30)})
    if cause == "ledger":
        refuse(client("dynamodb"), "UpdateItem", "ResourceNotFoundException")
        settings: dict[str, Any] = {"run_ledger_table": ledger_table}
        code = "ResourceNotFoundException"
    else:
        janitor_ec2().meta.events.register(
            "before-call.ec2.DescribeRegions", lambda **_: ec2_error("RequestLimitExceeded", 503)
        )
        settings = {"regions": ("all",)}
        code = "RequestLimitExceeded"

    with pytest.raises(Exception, match=code):
        run_janitor(notify=notifier(email_queue), **settings)

    assert due in fleet.addresses()  # nothing released
    (email,) = emails(email_queue)
    assert email["template"] == "eip-janitor-report"
    assert email["data"]["released_count"] == "0"
    assert "did nothing" in email["data"]["summary"] and code in email["data"]["summary"]
    # Its own key: a re-drive that then runs reports under the run's key, not dropped as a duplicate.
    assert email["idempotency_key"] != f"eip-janitor:{RUN_ID}"
