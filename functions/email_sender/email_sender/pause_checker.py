"""While SES sending is paused the email queue waits: a check every 5 minutes stops or resumes its reader.

SES pauses an account (or a configuration set) for a review that lasts hours or days. Mail must wait, not
churn through its receives into the DLQ. The sender stops its event source mapping when SES answers
"paused" (queue_consumer.py); this check makes the mapping follow SES's state whatever the sender saw:
- sending paused and the mapping enabled: disable it (the sender may not have sent since the pause);
- sending enabled and the mapping disabled: enable it; the waiting requests are received again.
A mapping between two states (Enabling, Disabling) is left to settle until the next check.

Every check emits the metric `EmailSendingPaused` (1 paused, 0 not), which the alarm EmailSendingPausedAlarm
watches, and one log line with the state, so an operator sees that the pause is on and what it holds back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from email_sender.queue_consumer import DISABLED, ENABLED
from groundskeeper.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_ses import SESClient

ACCOUNT_PAUSED = "AccountSendingPausedException"
CONFIGURATION_SET_PAUSED = "ConfigurationSetSendingPausedException"


@dataclass(frozen=True)
class PauseCheck:
    """What one check found and did."""

    paused_by: str | None  # the SES code a send would get now, or None when sending is enabled
    mapping_state: str  # as the check found it
    action: str  # "stopped", "resumed" or "none"


def sending_paused(ses: SESClient, configuration_set: str) -> str | None:
    """The code a send would fail with now (account, then configuration set), or None if it may send."""
    if not ses.get_account_sending_enabled().get("Enabled", True):
        return ACCOUNT_PAUSED
    if configuration_set:
        described = ses.describe_configuration_set(
            ConfigurationSetName=configuration_set, ConfigurationSetAttributeNames=["reputationOptions"]
        )
        if described.get("ReputationOptions", {}).get("SendingEnabled", True) is False:
            return CONFIGURATION_SET_PAUSED
    return None


def check_pause(
    ses: SESClient, lambda_client: LambdaClient, mapping_uuid: str, configuration_set: str
) -> PauseCheck:
    """Make the mapping follow SES's sending state; AWS errors propagate: the next run tries again."""
    paused_by = sending_paused(ses, configuration_set)
    state = lambda_client.get_event_source_mapping(UUID=mapping_uuid).get("State", "")
    action = "none"
    if paused_by and state == ENABLED:
        lambda_client.update_event_source_mapping(UUID=mapping_uuid, Enabled=False)
        action = "stopped"
    elif not paused_by and state == DISABLED:
        lambda_client.update_event_source_mapping(UUID=mapping_uuid, Enabled=True)
        action = "resumed"
    metrics.add_metric(name="EmailSendingPaused", unit=MetricUnit.Count, value=1 if paused_by else 0)
    extra = {"mapping_uuid": mapping_uuid, "mapping_state": state, "action": action, "error_code": paused_by}
    if paused_by:
        logger.warning(
            "sending paused: the email queue waits until SES sending is enabled again", extra=extra
        )
    elif action == "resumed":
        logger.info("sending enabled again: the email queue is read again", extra=extra)
    else:
        logger.info("sending enabled", extra=extra)
    return PauseCheck(paused_by, state, action)
