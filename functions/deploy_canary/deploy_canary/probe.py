"""One real email request through the sender's new version, judged by its outcome, reported to CodeDeploy.

The sender answers SQS with a partial batch response and never raises for a record: a version that fails
every record still returns normally, so Lambda's Errors metric cannot tell a broken sender from a good one.
The canary asks the version itself. It invokes the version's ARN (not the alias, which still points at the
old version) with an SQS event of one record, a valid request of a bundled template to SES's mailbox
simulator, under a key of its own. The version passes when
- the invocation returned a partial batch response (no FunctionError),
- that response lists no failed record, and
- the request's idempotency record says COMPLETED with the outcome `sent`: a record the sender dead-lettered
  also leaves the batch response empty, since it is off the queue.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from botocore.exceptions import BotoCoreError, ClientError

from groundskeeper.errors import PermanentError, coded_failure
from groundskeeper.notify import email_request

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient

    from deploy_canary.settings import CanarySettings

# SES's mailbox simulator: accepted and delivered, in the sandbox too, without counting against the
# account's sending quota or its bounce and complaint rates.
CANARY_RECIPIENT = "success@simulator.amazonses.com"
# A template the sender bundles, so every request policy allows it and the sender publishes it if missing.
CANARY_TEMPLATE = "example-welcome"
CANARY_DATA = {"name": "deploy canary", "product": "Groundskeeper"}
BAD_HOOK_EVENT = "BadHookEvent"

# The sender's idempotency record (email_sender.idempotency_record, which this package may not import):
# its key is "<function name>.<scope>#<md5 of the JSON key>", its result the JSON in `data`. A unit test
# holds these to the sender's own.
SENDER_KEY_SCOPE = "email_sender.sender.EmailSender._deliver"
RECORD_KEY, RECORD_STATUS, RECORD_DATA = "id", "status", "data"
RECORD_COMPLETED, OUTCOME_SENT = "COMPLETED", "sent"

type Status = Literal["Succeeded", "Failed"]


class HookEvent(TypedDict):
    """What CodeDeploy invokes a lifecycle hook with."""

    DeploymentId: str
    LifecycleEventHookExecutionId: str


class Verdict(TypedDict):
    """The canary's answer, as reported to CodeDeploy and returned by the function."""

    status: Status
    reason: str
    sender_version: str
    idempotency_key: str


def parse_hook_event(event: Any) -> HookEvent:
    """The hook's event, or PermanentError(BAD_HOOK_EVENT): without both ids there is nobody to answer."""
    if not isinstance(event, dict):
        raise PermanentError(
            BAD_HOOK_EVENT, f"expected CodeDeploy's hook event, got a {type(event).__name__}"
        )
    deployment, execution = event.get("DeploymentId"), event.get("LifecycleEventHookExecutionId")
    if not (isinstance(deployment, str) and deployment and isinstance(execution, str) and execution):
        raise PermanentError(BAD_HOOK_EVENT, "DeploymentId and LifecycleEventHookExecutionId are required")
    return {"DeploymentId": deployment, "LifecycleEventHookExecutionId": execution}


def canary_event(idempotency_key: str, *, message_id: str, region: str, now_ms: int) -> dict[str, Any]:
    """An SQS event of one record, as the email queue's event source delivers it on a first receive."""
    body = json.dumps(
        email_request(CANARY_TEMPLATE, [CANARY_RECIPIENT], CANARY_DATA, idempotency_key=idempotency_key)
    )
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": "deploy-canary",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(now_ms),
                    "ApproximateFirstReceiveTimestamp": str(now_ms),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "deploy-canary",
                "awsRegion": region,
            }
        ]
    }


def sender_record_key(function_name: str, idempotency_key: str) -> str:
    """The key of the sender's idempotency record of a request with this idempotency key."""
    digest = hashlib.md5(json.dumps(idempotency_key, sort_keys=True).encode(), usedforsecurity=False)
    return f"{function_name}.{SENDER_KEY_SCOPE}#{digest.hexdigest()}"


def batch_problem(function_error: str | None, payload: bytes) -> str | None:
    """What is wrong with the version's answer to the canary's batch, or None for a clean one."""
    text = payload.decode("utf-8", errors="replace")
    if function_error:
        return f"the new version raised ({function_error}): {text[:500]}"
    try:
        response = json.loads(text)
    except ValueError:
        return f"the new version answered no JSON: {text[:200]!r}"
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not isinstance(failures, list):
        return f"the new version answered no partial batch response: {text[:200]!r}"
    if failures:
        return "the new version returned the canary's record as failed (batchItemFailures); see its log"
    return None


def record_problem(dynamodb: DynamoDBClient, table: str, key: str) -> str | None:
    """What the request's idempotency record says went wrong, or None when it says sent."""
    item = dynamodb.get_item(TableName=table, Key={RECORD_KEY: {"S": key}}, ConsistentRead=True).get("Item")
    if item is None:
        return (
            "no idempotency record for the canary's request: the new version dead-lettered it before "
            "delivering (the email dead-letter queue has it, with its reason)"
        )
    status = item.get(RECORD_STATUS, {}).get("S")
    if status != RECORD_COMPLETED:
        return f"the canary's idempotency record is {status}, not {RECORD_COMPLETED}"
    try:
        result = json.loads(item.get(RECORD_DATA, {}).get("S", ""))
    except ValueError:
        return "the canary's idempotency record holds no result"
    outcome = result.get("outcome") if isinstance(result, dict) else None
    if outcome != OUTCOME_SENT:
        code = result.get("error_code") if isinstance(result, dict) else None
        return f"the canary's request was not sent: outcome {outcome}" + (f" ({code})" if code else "")
    return None


def probe(
    settings: CanarySettings,
    *,
    lambda_client: LambdaClient,
    dynamodb: DynamoDBClient,
    idempotency_key: str,
    message_id: str,
    region: str,
    now_ms: int,
) -> Verdict:
    """Send the canary's request through the new version and judge its outcome. Never raises for an AWS
    failure: a canary that cannot look reports Failed, as CodeDeploy would otherwise wait an hour."""
    version = settings.sender_version_arn

    def verdict(reason: str | None) -> Verdict:
        status: Status = "Failed" if reason else "Succeeded"
        return {
            "status": status,
            "reason": reason or "the new version sent the canary's email",
            "sender_version": version,
            "idempotency_key": idempotency_key,
        }

    event = canary_event(idempotency_key, message_id=message_id, region=region, now_ms=now_ms)
    try:
        response = lambda_client.invoke(
            FunctionName=version, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        problem = batch_problem(response.get("FunctionError"), response["Payload"].read())
        if problem is None and settings.records_table:
            key = sender_record_key(settings.sender_function_name, idempotency_key)
            problem = record_problem(dynamodb, settings.records_table, key)
    except (ClientError, BotoCoreError) as exc:
        code, message = coded_failure(exc)
        return verdict(f"the canary could not check the new version: {code}: {message}")
    return verdict(problem)


def report(codedeploy: Any, hook: HookEvent, verdict: Verdict) -> None:
    """Tell CodeDeploy the hook's outcome: Failed stops the deployment and keeps the old version live."""
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=hook["DeploymentId"],
        lifecycleEventHookExecutionId=hook["LifecycleEventHookExecutionId"],
        status=verdict["status"],
    )
