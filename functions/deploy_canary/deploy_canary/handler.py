"""SenderCanaryFunction's entry point: CodeDeploy's PreTraffic hook of the email sender's deployments.

CodeDeploy invokes it after publishing the sender's new version and before moving any of the `live` alias's
traffic to it. It sends one real request through that version (deploy_canary.probe) and reports Succeeded
or Failed; Failed ends the deployment, and the alias stays on the version before.
"""

from __future__ import annotations

import os
import time
import uuid
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from deploy_canary.probe import Verdict, parse_hook_event, probe, report
from deploy_canary.settings import CanarySettings
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_lambda import LambdaClient

# The sender may run up to its own timeout (30 s) before it answers. One attempt: a retried invoke would
# deliver the canary's record twice (harmless, the key deduplicates it, but the answer would be the
# duplicate's).
INVOKE_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=3, read_timeout=45
)

SETTINGS = CanarySettings.from_env()


@cache
def invoke_client() -> LambdaClient:
    """Made on first use, once per container."""
    return boto3.session.Session().client("lambda", config=INVOKE_CONFIG)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Verdict:
    hook = parse_hook_event(event)
    logger.append_keys(deployment_id=hook["DeploymentId"], sender_version=SETTINGS.sender_version_arn)
    verdict = probe(
        SETTINGS,
        lambda_client=invoke_client(),
        dynamodb=client("dynamodb"),
        idempotency_key=f"deploy-canary-{hook['DeploymentId']}-{uuid.uuid4()}",
        message_id=str(uuid.uuid4()),
        region=os.environ.get("AWS_REGION", ""),
        now_ms=int(time.time() * 1000),
    )
    (logger.info if verdict["status"] == "Succeeded" else logger.error)("canary verdict", extra=dict(verdict))
    report(client("codedeploy"), hook, verdict)
    return verdict
