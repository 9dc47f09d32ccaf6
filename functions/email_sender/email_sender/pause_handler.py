"""Lambda entry point of the pause checker: a schedule in, the email queue's mapping made to follow SES."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from email_sender.pause_checker import check_pause
from email_sender.settings import PauseCheckerSettings
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SETTINGS = PauseCheckerSettings.from_env()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    found = check_pause(
        client("ses"), client("lambda"), SETTINGS.mapping_uuid, SETTINGS.ses_configuration_set
    )
    return {"paused_by": found.paused_by, "mapping_state": found.mapping_state, "action": found.action}
