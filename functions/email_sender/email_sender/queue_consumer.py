"""Stops and resumes the sender's event source mapping (EmailRequestsMapping) while SES sending is paused.

While the mapping is disabled, Lambda receives nothing from the email queue: the waiting requests are not
received, so no receive counts toward `maxReceiveCount` and nothing churns into the DLQ. The sender stops it
when SES answers "paused"; the pause checker (`pause_checker.py`, every 5 minutes) resumes it once sending
is enabled again.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from groundskeeper.errors import error_code
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

# The two settled states of a mapping; in between (Enabling, Disabling) the checker waits for them.
ENABLED = "Enabled"
DISABLED = "Disabled"


def _function_name(arn: str) -> str:
    """`my-fn` from `arn:aws:lambda:region:account:function:my-fn[:alias]`, or the name itself."""
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" else arn


class QueueConsumer:
    """The mapping that feeds a function from a queue, found once per container, then switched off."""

    def __init__(self, lambda_client: LambdaClient) -> None:
        self._lambda = lambda_client
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], str] = {}  # (queue ARN, function name) -> mapping UUID

    def mapping_of(self, queue_arn: str, function_name: str) -> str | None:
        """The UUID of the function's mapping from `queue_arn` (its alias's or its own), or None."""
        with self._lock:
            if (queue_arn, function_name) in self._found:
                return self._found[queue_arn, function_name]
        pages = self._lambda.get_paginator("list_event_source_mappings").paginate(EventSourceArn=queue_arn)
        for page in pages:
            for mapping in page.get("EventSourceMappings", []):
                if _function_name(mapping.get("FunctionArn", "")) == function_name and "UUID" in mapping:
                    with self._lock:
                        self._found[queue_arn, function_name] = mapping["UUID"]
                    return mapping["UUID"]
        return None

    def stop(self, queue_arn: str, function_name: str, reason: str) -> str | None:
        """Disable the mapping from `queue_arn`; returns its UUID, or None if it could not be stopped.

        Never raises: the records of the batch go back to the queue either way (or are put back on it), and
        the pause checker stops the mapping too while SES says paused.
        """
        try:
            uuid = self.mapping_of(queue_arn, function_name)
            if uuid is None:
                logger.warning(
                    "sending paused: no event source mapping found to stop",
                    extra={"queue_arn": queue_arn, "error_code": reason},
                )
                return None
            self._lambda.update_event_source_mapping(UUID=uuid, Enabled=False)
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "sending paused: could not stop consuming the email queue",
                extra={
                    "queue_arn": queue_arn,
                    "error_code": reason,
                    "cause": error_code(exc) or type(exc).__name__,
                },
            )
            return None
        logger.warning(
            "sending paused: stopped consuming the email queue until SES sending is enabled again",
            extra={"mapping_uuid": uuid, "error_code": reason},
        )
        return uuid
