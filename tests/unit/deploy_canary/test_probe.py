"""The canary's pure parts: its request is one the sender accepts, its record key is the sender's own, and a
batch response is judged by what it lists."""

from __future__ import annotations

import json

import pytest

from deploy_canary.probe import (
    CANARY_RECIPIENT,
    OUTCOME_SENT,
    RECORD_COMPLETED,
    RECORD_DATA,
    RECORD_KEY,
    RECORD_STATUS,
    SENDER_KEY_SCOPE,
    batch_problem,
    canary_event,
    sender_record_key,
)
from deploy_canary.settings import CanarySettings
from email_sender import idempotency_record
from email_sender.email_request import parse_email_request
from email_sender.errors import Outcome
from groundskeeper.errors import SettingsError

VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:gk-email-sender:12"


def test_the_canary_request_is_valid_for_the_sender() -> None:
    [record] = canary_event("deploy-canary-1", message_id="m", region="us-east-1", now_ms=1)["Records"]
    request = parse_email_request(record["body"], "alerts@example.com")
    assert (request.template, request.to, request.idempotency_key) == (
        "example-welcome",
        (CANARY_RECIPIENT,),
        "deploy-canary-1",
    )
    assert record["attributes"]["ApproximateReceiveCount"] == "1"  # a failure is retried, not parked


def test_the_record_key_and_fields_are_the_senders_own() -> None:
    records = idempotency_record.IdempotencyRecords(None, "t", 60, function_name="gk-email-sender")  # type: ignore[arg-type]
    assert sender_record_key("gk-email-sender", "deploy-canary-1") == records.key("deploy-canary-1")
    assert SENDER_KEY_SCOPE == idempotency_record.KEY_SCOPE
    assert (RECORD_KEY, RECORD_STATUS, RECORD_DATA, RECORD_COMPLETED) == (
        idempotency_record.KEY,
        idempotency_record.STATUS,
        idempotency_record.DATA,
        idempotency_record.COMPLETED,
    )
    assert OUTCOME_SENT == Outcome.SENT


@pytest.mark.parametrize(
    ("function_error", "payload", "problem"),
    [
        (None, b'{"batchItemFailures": []}', None),
        (None, b'{"batchItemFailures": [{"itemIdentifier": "m"}]}', "batchItemFailures"),
        ("Unhandled", b'{"errorMessage": "boom"}', "raised"),
        (None, b"null", "no partial batch response"),
        (None, b"<html>", "no JSON"),
    ],
)
def test_a_batch_response_is_clean_only_without_failures(
    function_error: str | None, payload: bytes, problem: str | None
) -> None:
    found = batch_problem(function_error, payload)
    assert found is None if problem is None else problem in (found or "")


def test_settings_take_the_function_name_from_the_version_arn() -> None:
    settings = CanarySettings.from_env({"CANARY_SENDER_VERSION": VERSION_ARN, "CANARY_RECORDS_TABLE": "t"})
    assert (settings.sender_function_name, settings.records_table) == ("gk-email-sender", "t")


@pytest.mark.parametrize(
    "arn",
    ["", "arn:aws:lambda:us-east-1:123456789012:function:gk-email-sender", f"{VERSION_ARN[:-3]}:live"],
)
def test_settings_refuse_anything_but_a_published_version(arn: str) -> None:
    with pytest.raises(SettingsError, match="CANARY_SENDER_VERSION"):
        CanarySettings.from_env({"CANARY_SENDER_VERSION": arn})


def test_the_sample_event_is_codedeploys_shape() -> None:
    from tests.conftest import load_event

    assert set(load_event("codedeploy-pre-traffic-hook.json")) == {
        "DeploymentId",
        "LifecycleEventHookExecutionId",
    }
    assert json.dumps(canary_event("k", message_id="m", region="r", now_ms=0))
