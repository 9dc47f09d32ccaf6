"""Lambda entry point of the email sender: an SQS batch of email requests in, a partial batch response out."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from email_sender.email_request import ascii_address
from email_sender.request_policy import RequestPolicy
from email_sender.send_pacing import SendPacer, read_max_send_rate
from email_sender.sender import EmailSender
from email_sender.settings import Settings
from email_sender.template_store import TemplateStore, bundled_template_names
from groundskeeper.aws_clients import client, single_attempt_client
from groundskeeper.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def build_sender(settings: Settings) -> EmailSender:
    """What lives as long as the container: the clients, the template cache, the pacer, idempotency."""
    ses = client("ses")
    return EmailSender(
        settings,
        ses=ses,
        sqs=client("sqs"),
        dynamodb=client("dynamodb"),
        templates=TemplateStore(settings.template_cache_seconds),
        pacer=SendPacer(partial(read_max_send_rate, ses), share=settings.send_rate_share),
        policy=build_policy(settings),
        # The send itself makes one attempt: SQS redelivery, guarded by idempotency, is its retry.
        send_ses=single_attempt_client("ses"),
        # The send-started mark too: its worst case must be known before it starts.
        mark_dynamodb=single_attempt_client("dynamodb"),
        # To stop reading the email queue while SES sending is paused.
        lambda_client=client("lambda"),
    )


def build_policy(settings: Settings) -> RequestPolicy:
    # In their ASCII form, as a request's "from" is once parsed (the settings were checked at cold start).
    senders = {ascii_address(a) for a in (settings.sender_email, *settings.allowed_senders) if a}
    return RequestPolicy(
        senders=frozenset(senders),
        templates=settings.allowed_templates,
        always_allowed=frozenset(bundled_template_names()),
    )


SETTINGS = Settings.from_env()
SENDER = build_sender(SETTINGS)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(SENDER.deliver_batch(event, context))
