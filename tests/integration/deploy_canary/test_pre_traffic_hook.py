"""The deploy canary under moto, against the real email sender run in-process as "the new version": a good
sender passes, and each way a sender can fail its records while returning normally fails the deployment."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError

# The sender's handler reads its settings at import (cold start); tests build their own sender anyway.
os.environ.setdefault("IDEMPOTENCY_TABLE", "email-sender-import-only")
os.environ.setdefault("DEAD_LETTER_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/import-only")
os.environ.setdefault("SES_CONFIGURATION_SET", "import-only")
os.environ.setdefault(
    "CANARY_SENDER_VERSION", "arn:aws:lambda:us-east-1:123456789012:function:gk-email-sender:1"
)

from deploy_canary import handler as canary_handler
from deploy_canary.probe import (
    CANARY_RECIPIENT,
    HookEvent,
    parse_hook_event,
    probe,
    record_problem,
    report,
    sender_record_key,
)
from deploy_canary.settings import CanarySettings
from email_sender import handler as sender_handler
from email_sender.settings import Settings
from groundskeeper.aws_clients import client
from groundskeeper.errors import PermanentError
from tests.conftest import REGION, load_event
from tests.lambda_context import FakeLambdaContext

SENDER = "alerts@example.com"
FUNCTION = "gk-email-sender"
VERSION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}:7"
HOOK: HookEvent = load_event("codedeploy-pre-traffic-hook.json")  # type: ignore[assignment]


class _Payload(io.BytesIO):
    """What boto3's invoke answers as Payload: a stream."""


@dataclass
class InProcessLambda:
    """A Lambda client whose Invoke runs the sender's real handler here, as the invoked version."""

    invoked: list[dict[str, Any]] = field(default_factory=list)
    raise_in_handler: bool = False
    deny: bool = False

    def invoke(self, **params: Any) -> dict[str, Any]:
        self.invoked.append(params)
        if self.deny:
            error = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}
            raise ClientError(error, "Invoke")  # type: ignore[arg-type]
        context = FakeLambdaContext(
            function_name=FUNCTION, function_version=params["FunctionName"].rsplit(":", 1)[1]
        )
        try:
            if self.raise_in_handler:
                raise RuntimeError("the new version is broken")
            result = sender_handler.lambda_handler(json.loads(params["Payload"]), context)
        except RuntimeError as exc:
            body = {"errorMessage": str(exc), "errorType": type(exc).__name__}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": _Payload(json.dumps(body).encode()),
            }
        return {"StatusCode": 200, "Payload": _Payload(json.dumps(result).encode())}


@dataclass
class RecordingCodeDeploy:
    statuses: list[dict[str, str]] = field(default_factory=list)

    def put_lifecycle_event_hook_execution_status(self, **params: str) -> dict[str, str]:
        self.statuses.append(params)
        return {"lifecycleEventHookExecutionId": params["lifecycleEventHookExecutionId"]}


@dataclass
class CanaryWorld:
    settings: CanarySettings
    sender_settings: Settings
    lambda_client: InProcessLambda
    sent_to: list[list[str]]

    def run(self, key: str = "deploy-canary-test") -> dict[str, Any]:
        verdict = probe(
            self.settings,
            lambda_client=self.lambda_client,  # type: ignore[arg-type]
            dynamodb=client("dynamodb"),
            idempotency_key=key,
            message_id="canary-message",
            region=REGION,
            now_ms=1_700_000_000_000,
        )
        return dict(verdict)

    def deny_dynamodb_writes(self) -> None:
        def denied(**_: Any) -> Any:
            error = {"Error": {"Code": "AccessDeniedException", "Message": "no"}}
            return AWSResponse("https://dynamodb", 400, HTTPHeaders(), None), {
                **error,
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }

        for operation in ("PutItem", "UpdateItem", "DeleteItem"):
            client("dynamodb").meta.events.register(f"before-call.dynamodb.{operation}", denied)

    def dead_letters(self) -> list[dict[str, Any]]:
        queue = self.sender_settings.dead_letter_queue_url
        return client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch) -> CanaryWorld:
    client("ses").verify_email_identity(EmailAddress=SENDER)
    client("dynamodb").create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dlq = client("sqs").create_queue(QueueName="email-dlq")["QueueUrl"]
    # As in Lambda: the sender's records are keyed by its own function name.
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
    sender_settings = Settings(
        sender_email=SENDER, idempotency_table="idempotency", dead_letter_queue_url=dlq
    )
    monkeypatch.setattr(sender_handler, "SENDER", sender_handler.build_sender(sender_settings))
    sent_to: list[list[str]] = []

    def remember(params: dict[str, Any], **_: Any) -> None:
        sent_to.append(params["Destination"]["ToAddresses"])

    sender_handler.SENDER.send_ses.meta.events.register("before-parameter-build.ses.SendEmail", remember)

    def send_quota(**_: Any) -> Any:
        quota = {"MaxSendRate": 1000.0, "Max24HourSend": 1e9, "SentLast24Hours": 0.0}
        return AWSResponse("https://email", 200, HTTPHeaders(), None), {
            **quota,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    client("ses").meta.events.register("before-call.ses.GetSendQuota", send_quota)
    settings = CanarySettings(VERSION_ARN, FUNCTION, records_table="idempotency")
    return CanaryWorld(settings, sender_settings, InProcessLambda(), sent_to)


def test_a_good_version_sends_one_email_to_the_simulator_and_passes(world: CanaryWorld) -> None:
    verdict = world.run()

    assert verdict["status"] == "Succeeded", verdict["reason"]
    assert world.sent_to == [[CANARY_RECIPIENT]]
    [call] = world.lambda_client.invoked
    assert (call["FunctionName"], call["InvocationType"]) == (VERSION_ARN, "RequestResponse")
    [record] = json.loads(call["Payload"])["Records"]
    request = json.loads(record["body"])
    assert (request["template"], request["idempotency_key"]) == ("example-welcome", "deploy-canary-test")
    assert "from" not in request  # the sender's own identity, as every report uses


def test_a_version_whose_idempotency_writes_are_denied_fails(world: CanaryWorld) -> None:
    """The sender returns normally (its Errors metric stays 0) with the record in batchItemFailures."""
    world.deny_dynamodb_writes()

    verdict = world.run()

    assert verdict["status"] == "Failed"
    assert "batchItemFailures" in verdict["reason"]
    assert world.sent_to == []


def test_a_version_that_dead_letters_the_request_fails(
    world: CanaryWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dead-lettered is off the queue, so the batch response is clean: the missing record tells."""
    monkeypatch.setattr(sender_handler.SENDER.templates, "get", _unrenderable)

    verdict = world.run()

    assert verdict["status"] == "Failed"
    assert "dead-lettered" in verdict["reason"]
    assert len(world.dead_letters()) == 1


def _unrenderable(*_: Any) -> Any:
    raise PermanentError("InvalidTemplate", "the new version cannot render its own bundled template")


def test_a_version_that_raises_fails(world: CanaryWorld) -> None:
    world.lambda_client.raise_in_handler = True

    verdict = world.run()

    assert verdict["status"] == "Failed"
    assert "raised (Unhandled)" in verdict["reason"]


def test_a_canary_that_cannot_invoke_reports_failed_instead_of_raising(world: CanaryWorld) -> None:
    world.lambda_client.deny = True

    verdict = world.run()

    assert verdict["status"] == "Failed"
    assert "AccessDeniedException" in verdict["reason"]


def test_a_record_that_is_not_sent_fails(world: CanaryWorld) -> None:
    """A key whose send's outcome is unknown is COMPLETED, but not sent; a claimed key is not COMPLETED."""
    key = sender_record_key(FUNCTION, "deploy-canary-test")
    result = {"outcome": "dead_lettered", "error_code": "SendOutcomeUnknown", "reason": "lost"}
    item = {"id": {"S": key}, "status": {"S": "COMPLETED"}, "data": {"S": json.dumps(result)}}
    client("dynamodb").put_item(TableName="idempotency", Item=item)
    assert "outcome dead_lettered (SendOutcomeUnknown)" in (
        record_problem(client("dynamodb"), "idempotency", key) or ""
    )

    client("dynamodb").put_item(
        TableName="idempotency", Item={"id": {"S": key}, "status": {"S": "INPROGRESS"}}
    )
    assert "INPROGRESS" in (record_problem(client("dynamodb"), "idempotency", key) or "")


def test_the_record_check_is_skipped_without_a_table(world: CanaryWorld) -> None:
    world.settings = CanarySettings(VERSION_ARN, FUNCTION)
    world.deny_dynamodb_writes()  # the batch response still tells
    assert world.run()["status"] == "Failed"


def test_the_verdict_is_reported_to_codedeploy(world: CanaryWorld) -> None:
    codedeploy = RecordingCodeDeploy()
    verdict = world.run()
    report(codedeploy, parse_hook_event(dict(HOOK)), verdict)  # type: ignore[arg-type]
    assert codedeploy.statuses == [
        {
            "deploymentId": HOOK["DeploymentId"],
            "lifecycleEventHookExecutionId": HOOK["LifecycleEventHookExecutionId"],
            "status": "Succeeded",
        }
    ]


def test_the_handler_probes_the_configured_version_and_reports(
    world: CanaryWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    codedeploy = RecordingCodeDeploy()
    monkeypatch.setattr(canary_handler, "SETTINGS", world.settings)
    monkeypatch.setattr(canary_handler, "invoke_client", lambda: world.lambda_client)
    real_client: Callable[..., Any] = canary_handler.client
    monkeypatch.setattr(
        canary_handler,
        "client",
        lambda service: codedeploy if service == "codedeploy" else real_client(service),
    )

    verdict = canary_handler.lambda_handler(dict(HOOK), FakeLambdaContext())  # type: ignore[arg-type]

    assert verdict["status"] == "Succeeded"
    assert verdict["idempotency_key"].startswith(f"deploy-canary-{HOOK['DeploymentId']}-")
    assert [status["status"] for status in codedeploy.statuses] == ["Succeeded"]


@pytest.mark.parametrize(
    "event",
    [None, [], {}, {"DeploymentId": "d-1"}, {"DeploymentId": "", "LifecycleEventHookExecutionId": "x"}],
)
def test_a_malformed_hook_event_is_refused(event: Any) -> None:
    with pytest.raises(PermanentError) as raised:
        parse_hook_event(event)
    assert raised.value.code == "BadHookEvent"
