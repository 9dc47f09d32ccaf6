"""The planner under moto: each job's schedule queues one item per account on that job's work queue, and a
redelivered schedule is the same run."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from groundskeeper.errors import PermanentError
from groundskeeper_org.runs import JOBS
from groundskeeper_org.settings import MemberAccounts, OrgSettings
from org_planner import handler as planner
from tests.conftest import load_event
from tests.integration.org.conftest import TABLE

A, B = "111111111111", "222222222222"


@pytest.fixture
def queues(runs_table: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """One work queue per job, and the planner's settings naming them."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    urls = {
        job: sqs.create_queue(QueueName=f"{job}-work")["QueueUrl"] for job in ("eip-janitor", "cors-sweep")
    }
    org = OrgSettings(members=MemberAccounts.parse(f"{A},{B}"), runs_table=TABLE, work_queue_urls=urls)
    monkeypatch.setattr(planner, "ORG", org)
    return urls


def items(queue_url: str) -> list[dict[str, str]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    found = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted((json.loads(m["Body"]) for m in found), key=lambda item: item["account_id"])


def headers() -> list[dict[str, Any]]:
    scanned = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    return [item for item in scanned if "expected" in item]


@pytest.mark.parametrize("job", JOBS)
def test_each_job_is_queued_on_its_own_work_queue(
    queues: dict[str, str], lambda_context: Any, job: str
) -> None:
    event = load_event(f"org-plan-{job}.json")

    planned = planner.lambda_handler(event, lambda_context)

    assert planned == {"run_id": event["id"], "job": job, "queued": 2}
    assert items(queues[job]) == [{"run_id": event["id"], "job": job, "account_id": a} for a in (A, B)]
    other = next(url for other_job, url in queues.items() if other_job != job)
    assert items(other) == []


def test_a_redelivered_schedule_is_the_same_run(queues: dict[str, str], lambda_context: Any) -> None:
    event = load_event("org-plan-eip-janitor.json")
    first = planner.lambda_handler(event, lambda_context)
    again = planner.lambda_handler(event, lambda_context)
    assert first["run_id"] == again["run_id"] == event["id"]
    (header,) = headers()
    assert header["job"] == {"S": "eip-janitor"}


def test_a_raw_scheduled_event_plans_nothing(queues: dict[str, str], lambda_context: Any) -> None:
    with pytest.raises(PermanentError, match="job must be one of"):
        planner.lambda_handler(load_event("schedule-eip-janitor.json"), lambda_context)
    assert headers() == []
