"""Events that are not an SQS batch: the email queue never delivers them, an operator's test invoke may.

The handler refuses them with NotAnSqsBatch, naming the problem, before any AWS call, and logs one line
saying so. The shapes: hand-typed values, every sample event in events/, and what `sam local generate-event`
writes for other triggers (sam_events/, written by SAM CLI 1.170.0). An SQS batch whose bodies are not email
requests is a batch all the same: each body is dead-lettered as InvalidMessage.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from email_sender import handler
from groundskeeper.errors import NotAnSqsBatch
from groundskeeper.observability import logger
from tests.conftest import EVENTS_DIR
from tests.integration.email_sender.conftest import SenderWorld

SAM_EVENTS = Path(__file__).parent / "sam_events"
SQS_SHAPED = {"sqs-email-request.json", "sqs-org-work-item.json", "sqs-receive-message.json"}
S3_EVENT = json.loads((EVENTS_DIR / "s3-object-created.json").read_text())
SQS_RECORD = json.loads((EVENTS_DIR / "sqs-email-request.json").read_text())["Records"][0]


def foreign_events() -> list[Any]:
    samples = [*sorted(EVENTS_DIR.glob("*.json")), *sorted(SAM_EVENTS.glob("*.json"))]
    return [
        pytest.param(json.loads(path.read_text()), id=path.name)
        for path in samples
        if path.name not in SQS_SHAPED
    ]


def invoke_refused(world: SenderWorld, event: Any) -> str:
    """The refusal's message; no AWS call made, one error line logged."""
    log = io.StringIO()
    previous = logger.registered_handler.setStream(log)  # type: ignore[attr-defined]
    try:
        with pytest.raises(NotAnSqsBatch) as refused:
            handler.lambda_handler(event, world.lambda_context)
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    assert world.calls == {}
    [line] = [json.loads(line) for line in log.getvalue().splitlines() if "not an SQS batch" in line]
    assert (line["level"], line["error_code"], line["reason"]) == (
        "ERROR",
        "NotAnSqsBatch",
        str(refused.value),
    )
    return str(refused.value)


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (None, "the event is null"),
        ([], "the event is a list of 0"),
        ("run", "the event is the string 'run'"),
        ({}, "no Records list"),
        ({"Records": [None, 1, "x"]}, "Records[0] is null"),
        (S3_EVENT, "Records[0] has no messageId (an aws:s3 record)"),
        (
            {"Records": [{k: v for k, v in SQS_RECORD.items() if k != "messageId"}]},
            "Records[0] has no messageId",
        ),
        (
            {"Records": [SQS_RECORD, {k: v for k, v in SQS_RECORD.items() if k != "body"}]},
            "Records[1] has no body",
        ),
    ],
)
def test_what_is_not_an_sqs_batch_is_refused_by_name_before_any_aws_call(
    world: SenderWorld, event: Any, problem: str
) -> None:
    assert problem in invoke_refused(world, event)
    assert world.sent() == [] and world.dead_letters() == []


@pytest.mark.parametrize("event", foreign_events())
def test_every_other_triggers_sample_event_is_refused(world: SenderWorld, event: Any) -> None:
    assert invoke_refused(world, event).startswith("not an SQS event: ")


@pytest.mark.parametrize("name", ["sqs-org-work-item.json", "sqs-receive-message.json"])
def test_an_sqs_batch_of_other_bodies_is_dead_lettered_as_invalid(world: SenderWorld, name: str) -> None:
    event = json.loads(
        next(path for path in (EVENTS_DIR / name, SAM_EVENTS / name) if path.exists()).read_text()
    )
    assert handler.lambda_handler(event, world.lambda_context) == {"batchItemFailures": []}
    [(body, attrs)] = world.dead_letters()
    assert (body, attrs["error_code"]) == (event["Records"][0]["body"], "InvalidMessage")
    assert world.sent() == []


def test_an_empty_batch_does_nothing(world: SenderWorld) -> None:
    assert handler.lambda_handler({"Records": []}, world.lambda_context) == {"batchItemFailures": []}
    assert world.calls == {}
