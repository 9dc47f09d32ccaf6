"""Hub mode end to end under moto: the planner's event plans a run (one work item per account), each job's
worker sweeps its items' accounts, and the last part sends the run's one email."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from cors_auditor.handlers import org_work as auditor
from cors_auditor.settings import Settings as AuditSettings
from eip_janitor.handlers import org_work as janitor
from eip_janitor.settings import Settings as JanitorSettings
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from groundskeeper_org import hub as org_hub
from groundskeeper_org.runs import JOBS, RunParts
from groundskeeper_org.settings import MemberAccounts, OrgSettings
from org_planner import handler as planner
from tests.conftest import load_event
from tests.integration.org.conftest import ALLOWED, ROLE, TABLE, deny_assume_role, seed_member
from tests.integration.real_shapes import one_item_per_batch

A, B, C = "111111111111", "222222222222", "333333333333"
BAD_CORS = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}
SCHEDULE = "org-plan-eip-janitor.json"


@pytest.fixture
def queues(runs_table: Any) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    names = ("work", "email", "other", "work-dlq")
    return {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in names}


def org(queues: dict[str, str], accounts: str = f"{A},{B},{C}") -> OrgSettings:
    return OrgSettings(
        members=MemberAccounts.parse(accounts),
        role_name=ROLE,
        owners={A: "team-a@example.com"},
        runs_table=TABLE,
        # One queue serves both jobs here: each test runs one job.
        work_queue_urls=dict.fromkeys(JOBS, queues["work"]),
        dead_letter_queue_url=queues["work-dlq"],
    )


def use(module: ModuleType, settings: Any, org: OrgSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap a worker's cold-start settings, and its sessions with them (they carry the role name); and the
    planner's hub settings."""
    monkeypatch.setattr(module, "SETTINGS", settings)
    monkeypatch.setattr(module, "ORG", org)
    monkeypatch.setattr(module, "SESSIONS", org_hub.HubSessions(org, lambda: client("sts")))
    monkeypatch.setattr(planner, "ORG", org)


def queue_arn(url: str) -> str:
    account, name = url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:us-east-1:{account}:{name}"


def batches(queue_url: str) -> list[dict[str, Any]]:
    """The queue's messages, each as the one-record batch the event source mapping (BatchSize 1) delivers."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    template = load_event("sqs-org-work-item.json")["Records"][0]
    events = []
    while found := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in found:
            record = {
                **template,
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "eventSourceARN": queue_arn(queue_url),
            }
            events.append({"Records": [record]})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return events


def emails(queue_url: str) -> list[dict[str, Any]]:
    return [json.loads(event["Records"][0]["body"]) for event in batches(queue_url)]


def test_a_janitor_schedule_plans_and_the_work_queue_sweeps_each_account(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    for account_id in (A, B, C):
        seed_member(account_id, ("us-east-1",), BAD_CORS)
    settings = JanitorSettings(
        dry_run=False,
        regions=("us-east-1",),
        max_releases_per_run=1,
        notify=Notifier(queue_url=queues["email"], recipients=("ops@example.com",)),
        run_ledger_table=TABLE,
    )
    use(janitor, settings, org(queues), monkeypatch)
    deny_assume_role(client("sts"), C)

    planned = planner.lambda_handler(load_event(SCHEDULE), lambda_context)

    run_id = load_event(SCHEDULE)["id"]
    assert planned == {"run_id": run_id, "job": "eip-janitor", "queued": 3}
    work = batches(queues["work"])
    assert len(work) == 3
    answers = [janitor.lambda_handler(event, lambda_context) for event in work]
    assert answers == [{"batchItemFailures": []}] * 3
    [email] = emails(queues["email"])
    assert email["template"] == "org-sweep-report"
    assert email["idempotency_key"] == f"org-run:eip-janitor:{run_id}"
    assert (email["data"]["accounts"], email["data"]["failed_accounts"]) == ("3", "1")
    assert f"{A} (team-a@example.com): released 1" in email["data"]["summary"]
    assert f"{C}: not swept: AccessDenied" in email["data"]["summary"]


def test_the_runs_email_reports_every_account_when_dynamodb_returns_one_part_per_batch(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    for account_id in (A, B, C):
        seed_member(account_id, ("us-east-1",), BAD_CORS)
    settings = JanitorSettings(
        dry_run=True,
        regions=("us-east-1",),
        notify=Notifier(queue_url=queues["email"], recipients=("ops@example.com",)),
    )
    use(janitor, settings, org(queues), monkeypatch)
    planner.lambda_handler(load_event(SCHEDULE), lambda_context)
    left = one_item_per_batch(client("dynamodb"))  # the workers' client: the last one reads every part

    answers = [janitor.lambda_handler(event, lambda_context) for event in batches(queues["work"])]

    assert answers == [{"batchItemFailures": []}] * 3
    [email] = emails(queues["email"])
    assert (email["data"]["accounts"], email["data"]["failed_accounts"]) == ("3", "0")
    assert all(f"{account_id}" in email["data"]["summary"] for account_id in (A, B, C))
    assert left["BatchGetItem"] == 2 + 1  # three parts asked for: two left unprocessed, then one


def test_an_item_of_another_job_fails_alone(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    use(janitor, JanitorSettings(), org(queues), monkeypatch)
    event = load_event("sqs-org-work-item.json")
    not_json, wrong = (dict(event["Records"][0]) for _ in range(2))
    wrong["messageId"] = "wrong-job"
    wrong["body"] = json.dumps({"run_id": "r", "job": "cors-sweep", "account_id": A})
    not_json["messageId"], not_json["body"] = "not-json", "{"
    for record in (not_json, wrong):
        record["eventSourceARN"] = queue_arn(queues["work"])

    answer = janitor.lambda_handler({"Records": [not_json, wrong]}, lambda_context)

    # Neither would ever succeed: both go to the work DLQ at once, each with its reason, and are acknowledged.
    assert answer == {"batchItemFailures": []}
    parked = dead_letters(queues["work-dlq"])
    assert [(m["Body"], m["code"], m["source"]) for m in parked] == [
        ("{", "BadWorkItem", "not-json"),
        (wrong["body"], "BadWorkItem", "wrong-job"),
    ]
    assert "eip-janitor cannot do 'cors-sweep'" in parked[1]["reason"]


def dead_letters(queue_url: str) -> list[dict[str, str]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    found = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return [
        {
            "Body": m["Body"],
            "code": m["MessageAttributes"]["error_code"]["StringValue"],
            "reason": m["MessageAttributes"]["error_message"]["StringValue"],
            "source": m["MessageAttributes"]["source_message_id"]["StringValue"],
        }
        for m in found.get("Messages", [])
    ]


def work_record(queues: dict[str, str], run_id: str, job: str, account_id: str) -> dict[str, Any]:
    record = dict(load_event("sqs-org-work-item.json")["Records"][0])
    record["eventSourceARN"] = queue_arn(queues["work"])
    record["body"] = json.dumps({"run_id": run_id, "job": job, "account_id": account_id})
    return record


def throttle_transactions(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
    """DynamoDB refusing every part's transaction; a before-call answer, so moto never applies it."""
    error = {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), {  # type: ignore[arg-type]
        "Error": error,
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def test_a_failing_item_is_retried_then_dead_lettered_with_its_reason_on_its_last_receive(
    queues: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The part's transaction throttled on every receive: SQS retries the item, with an error log line each
    time, until its last receive, which parks it with the reason instead of a silent redrive."""
    use(janitor, JanitorSettings(), org(queues), monkeypatch)
    seed_member(A, ("us-east-1",), BAD_CORS)
    RunParts(client("dynamodb"), TABLE).start("run-t", "eip-janitor", [A], datetime.now(UTC))
    client("dynamodb").meta.events.register("before-call.dynamodb.TransactWriteItems", throttle_transactions)
    record = work_record(queues, "run-t", "eip-janitor", A)

    for receive in ("1", "2"):
        record["attributes"] = {**record["attributes"], "ApproximateReceiveCount": receive}
        with caplog.at_level("ERROR"):
            answer = janitor.lambda_handler({"Records": [record]}, lambda_context)
        assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert dead_letters(queues["work-dlq"]) == []
    retried = [r for r in caplog.records if r.getMessage() == "work item failed: SQS delivers it again"]
    assert [getattr(r, "error_code", None) for r in retried] == ["ThrottlingException"] * 2

    record["attributes"] = {**record["attributes"], "ApproximateReceiveCount": "3"}
    assert janitor.lambda_handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}
    (parked,) = dead_letters(queues["work-dlq"])
    assert (parked["Body"], parked["source"], parked["code"]) == (
        record["body"],
        record["messageId"],
        "ThrottlingException",
    )
    assert parked["reason"] == "Rate exceeded (receive 3 of 3: not retried again)"


@pytest.mark.parametrize(
    "unplanned",
    [
        {"run_id": "no-such-run", "job": "eip-janitor", "account_id": A, "why": "has no record"},
        {"run_id": "run-u", "job": "eip-janitor", "account_id": C, "why": f"does not list account '{C}'"},
        {"run_id": "run-u", "job": "cors-sweep", "account_id": A, "why": "is not a cors-sweep run"},
    ],
)
def test_an_item_no_plan_made_is_dead_lettered_at_once_and_sweeps_nothing(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any, unplanned: dict[str, str]
) -> None:
    """A work item is a message body like any other: only one that its run's header lists is swept."""
    job = unplanned["job"]
    module: Any = janitor if job == "eip-janitor" else auditor
    settings: Any = (JanitorSettings if job == "eip-janitor" else AuditSettings)()
    use(module, settings, org(queues), monkeypatch)
    RunParts(client("dynamodb"), TABLE).start("run-u", "eip-janitor", [A, B], datetime.now(UTC))
    assumed: list[str] = []
    client("sts").meta.events.register(
        "before-call.sts.AssumeRole", lambda params, **_: assumed.append(str(params["body"]["RoleArn"]))
    )
    record = work_record(queues, unplanned["run_id"], job, unplanned["account_id"])

    answer = module.lambda_handler({"Records": [record]}, lambda_context)

    assert answer == {"batchItemFailures": []}
    assert assumed == []  # refused before any sweep: no member role was assumed
    (parked,) = dead_letters(queues["work-dlq"])
    assert parked["code"] == "UnplannedWorkItem"
    assert unplanned["why"] in parked["reason"]


def test_the_cors_sweep_plan_is_worked_by_the_auditors_worker(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    for account_id in (A, B):
        seed_member(account_id, (), BAD_CORS)
    settings = AuditSettings(
        allowed_origins=(ALLOWED,),
        notify=Notifier(queue_url=queues["email"], recipients=("ops@example.com",)),
    )
    use(auditor, settings, org(queues, f"{A},{B}"), monkeypatch)

    planned = planner.lambda_handler(load_event("org-plan-cors-sweep.json"), lambda_context)

    assert planned["queued"] == 2
    answers = [auditor.lambda_handler(event, lambda_context) for event in batches(queues["work"])]
    assert answers == [{"batchItemFailures": []}] * 2
    [email] = emails(queues["email"])
    assert (email["data"]["job"], email["data"]["accounts"], email["data"]["findings"]) == (
        "cors-sweep",
        "2",
        "2",
    )
