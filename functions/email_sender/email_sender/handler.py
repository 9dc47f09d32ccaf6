"""Lambda entry point of the email sender: an SQS batch of email requests in, a partial batch response out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from email_sender.sender import EmailSender, deliver_batch
from email_sender.settings import Settings
from email_sender.template_store import TemplateStore
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SETTINGS = Settings.from_env()
# Lives as long as the container, so a warm sender fetches each template once per TEMPLATE_CACHE_SECONDS.
TEMPLATES = TemplateStore(SETTINGS.template_cache_seconds)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sender = EmailSender(
        SETTINGS,
        ses=client("ses"),
        sqs=client("sqs"),
        dynamodb=client("dynamodb"),
        templates=TEMPLATES,
        lambda_context=context,
    )
    return dict(deliver_batch(event, sender, context))
