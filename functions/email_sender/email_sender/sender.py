"""Delivers each email request exactly once: validate, deduplicate, check the template, send or DLQ."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from email_sender.dead_letter import dead_letter
from email_sender.email_request import EmailRequest, parse_email_request
from email_sender.ses_delivery import SendingPaused, send_templated_email
from email_sender.template_store import (
    INVALID_TEMPLATE,
    TEMPLATE_DOES_NOT_EXIST,
    CheckedTemplate,
    TemplateStore,
)
from email_sender.template_variables import missing_variables
from groundskeeper.errors import PermanentError, TransientError, error_code
from groundskeeper.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

    from email_sender.settings import Settings

MISSING_RENDERING_ATTRIBUTE = "MissingRenderingAttribute"
IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"
# Don't start a record with less time than one slow SES call needs: a timed-out invocation returns the
# whole batch to the queue and leaves the interrupted record's in-progress lock until the deadline.
DEADLINE_MARGIN_MS = 5_000


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    # Powertools calls this only when it answers from the idempotency table, i.e. nothing was sent now.
    return {**(response or {}), "outcome": "duplicate"}


class EmailSender:
    """One invocation's sender; `handle` is the BatchProcessor's record handler."""

    def __init__(
        self,
        settings: Settings,
        *,
        ses: SESClient,
        sqs: SQSClient,
        dynamodb: DynamoDBClient,
        templates: TemplateStore,
        lambda_context: LambdaContext | None = None,
    ) -> None:
        self.settings = settings
        self.ses = ses
        self.sqs = sqs
        self.templates = templates
        self.paused_by: str | None = None
        self.lambda_context = lambda_context
        self.dead_lettered: Counter[str] = Counter()
        config = IdempotencyConfig(
            event_key_jmespath="key",
            # The same key with a different request is a producer bug: refuse it loudly, don't skip it.
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=settings.idempotency_ttl_seconds,
            response_hook=_mark_duplicate,
        )
        if lambda_context is not None:
            # Without it an in-progress record outlives a timed-out invocation and blocks the retry.
            config.register_lambda_context(lambda_context)
        persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb)
        self._deliver_once = idempotent_function(
            data_keyword_argument="job", persistence_store=persistence, config=config
        )(self._deliver)

    def handle(self, record: SQSRecord) -> str:
        """Deliver one record; returns its outcome. Raising puts the record in batchItemFailures."""
        if self.paused_by:
            raise SendingPaused(self.paused_by, "sending was paused earlier in this batch; not attempted")
        if self.lambda_context and self.lambda_context.get_remaining_time_in_millis() < DEADLINE_MARGIN_MS:
            raise TransientError("DeadlineNear", "too little time left in this invocation; not attempted")
        try:
            request = parse_email_request(record.body, self.settings.sender_email)
            job = {"key": request.idempotency_key or record.message_id, "request": request.fingerprint()}
            result = self._deliver_once(job=job, request=request)
        except IdempotencyValidationError:
            return self._dead_letter(
                record,
                PermanentError(
                    IDEMPOTENCY_KEY_REUSED, "idempotency_key was already used for a different request"
                ),
            )
        except PermanentError as exc:
            return self._dead_letter(record, exc)
        except SendingPaused as exc:
            self.paused_by = exc.code
            metrics.add_metric(name="SendingPaused", unit=MetricUnit.Count, value=1)
            raise
        outcome = str(result["outcome"])
        metrics.add_metric(
            name="EmailsSent" if outcome == "sent" else "DuplicatesSkipped", unit=MetricUnit.Count, value=1
        )
        logger.info("email request handled", extra={"message_id": record.message_id, "outcome": outcome})
        return outcome

    def _deliver(self, *, job: dict[str, Any], request: EmailRequest) -> dict[str, str]:
        """Runs at most once per key. Raising deletes the in-progress record, so that a retry may run."""
        checked = self.templates.get(self.ses, request.template)
        _check_renders(checked, request)
        try:
            message_id = send_templated_email(self.ses, request)
        except PermanentError as exc:
            if exc.code != TEMPLATE_DOES_NOT_EXIST:
                raise
            # Deleted since we cached it: publish the bundled one (if any) and try once more.
            self.templates.forget(request.template)
            checked = self.templates.get(self.ses, request.template)
            _check_renders(checked, request)
            message_id = send_templated_email(self.ses, request)
        return {"outcome": "sent", "ses_message_id": message_id}

    def _dead_letter(self, record: SQSRecord, exc: PermanentError) -> str:
        # If this send fails the exception propagates and the record is retried: nothing is lost.
        dead_letter(
            self.sqs,
            self.settings.dead_letter_queue_url,
            record.body,
            code=exc.code,
            reason=exc.message,
            source_message_id=record.message_id,
        )
        self.dead_lettered[exc.code] += 1
        metrics.add_metric(name="EmailsDeadLettered", unit=MetricUnit.Count, value=1)
        # The reason stays out of the log: it may quote an address. It travels with the DLQ message.
        logger.info(
            "email request handled",
            extra={"message_id": record.message_id, "outcome": "dead_lettered", "error_code": exc.code},
        )
        return "dead_lettered"


def _check_renders(checked: CheckedTemplate, request: EmailRequest) -> None:
    """Refuse what SES would accept and then silently drop: a template we can't check, a missing variable."""
    if checked.syntax_error:
        raise PermanentError(INVALID_TEMPLATE, f"{checked.template.name}: {checked.syntax_error}")
    missing = missing_variables(checked.variables.required, request.data)
    if missing:
        raise PermanentError(
            MISSING_RENDERING_ATTRIBUTE, f"template {request.template} needs data {', '.join(missing)}"
        )


class EmailBatchProcessor(BatchProcessor):
    """Powertools' SQS BatchProcessor that also logs and counts each record that will be retried."""

    def __init__(self) -> None:
        # A fully failed batch (all throttled, or paused) is a normal partial response, not an error.
        super().__init__(EventType.SQS, raise_on_entire_batch_failure=False)

    def failure_handler(self, record: Any, exception: Any) -> Any:
        exc = exception[1]
        code = getattr(exc, "code", None) or error_code(exc) or type(exc).__name__
        outcome = "paused" if isinstance(exc, SendingPaused) else "retry"
        metrics.add_metric(name="EmailsRetried", unit=MetricUnit.Count, value=1)
        logger.warning(
            "email request handled",
            extra={"message_id": record.get("messageId"), "outcome": outcome, "error_code": str(code)},
        )
        return super().failure_handler(record, exception)


def deliver_batch(
    event: dict[str, Any], sender: EmailSender, context: LambdaContext | None
) -> PartialItemFailureResponse:
    """Run every record of an SQS event through `sender`; only retryable failures are reported back."""
    response = process_partial_response(
        event=event, record_handler=sender.handle, processor=EmailBatchProcessor(), context=context
    )
    # One metric per error code and invocation (not per message): alarms can target e.g. MessageRejected.
    for code, count in sorted(sender.dead_lettered.items()):
        with single_metric(
            name="EmailsDeadLettered",
            unit=MetricUnit.Count,
            value=count,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            metric.add_dimension(name="error_code", value=code)
    return response
