"""Each producer's real email request rendered by the email sender's own renderer, with its bundled template.

The auditor and the janitor write template data; the sender refuses a request whose data lacks a variable
its template needs (SES would accept it and drop the email). Renaming a key on either side fails here,
not in production.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from cors_auditor import warm_state
from cors_auditor.handlers import sweep
from cors_auditor.settings import Settings as AuditorSettings
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from eip_janitor.handlers import schedule as janitor
from eip_janitor.settings import Settings as JanitorSettings
from email_sender.template_store import check_template, load_bundled_template
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from tests.conftest import load_event

if TYPE_CHECKING:
    from tests.lambda_context import FakeLambdaContext

RECIPIENTS = ("ops@example.com",)


def _queued_request(queue_url: str) -> dict[str, Any]:
    messages = client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    request: dict[str, Any] = json.loads(messages[0]["Body"])
    return request


def _assert_the_sender_accepts(request: dict[str, Any]) -> None:
    template = load_bundled_template(request["template"])
    assert template is not None, f"the sender ships no template named {request['template']}"
    rendered = check_template(template).render(request["data"])  # raises if the data lacks anything
    assert rendered.subject and rendered.text and rendered.html
    # Flat strings: SES's renderer (and moto's) refuses anything else.
    assert all(isinstance(value, str) for value in request["data"].values())


@pytest.fixture
def email_queue(aws: None) -> str:
    return str(client("sqs").create_queue(QueueName="email")["QueueUrl"])


def test_the_auditors_cors_finding_data_fits_its_template(
    email_queue: str, monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="open-bucket")
    rules = [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"]}]
    s3.put_bucket_cors(Bucket="open-bucket", CORSConfiguration={"CORSRules": rules})  # type: ignore[typeddict-item]
    monkeypatch.setattr(warm_state, "SETTINGS", AuditorSettings(notify=Notifier(email_queue, RECIPIENTS)))
    monkeypatch.setattr(warm_state, "VERDICTS", VerdictCache())
    monkeypatch.setattr(warm_state, "NOTIFIED", SeenKeys())

    sweep.lambda_handler(load_event("schedule-cors-sweep.json"), lambda_context)

    request = _queued_request(email_queue)
    assert request["template"] == "cors-finding"
    _assert_the_sender_accepts(request)


def test_the_janitors_eip_janitor_report_data_fits_its_template(
    email_queue: str, monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    client("ec2").allocate_address(Domain="vpc")
    settings = JanitorSettings(
        dry_run=False, grace_period_hours=0, regions=("us-east-1",), notify=Notifier(email_queue, RECIPIENTS)
    )
    monkeypatch.setattr(janitor, "SETTINGS", settings)

    report = janitor.lambda_handler(load_event("schedule-eip-janitor.json"), lambda_context)

    assert report["released_count"] == 1
    request = _queued_request(email_queue)
    assert request["template"] == "eip-janitor-report"
    _assert_the_sender_accepts(request)
