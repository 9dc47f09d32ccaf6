"""Delivers each email request exactly once: validate, deduplicate, check the template, pace, send or DLQ."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from email_sender.batch_metrics import BatchTally, emit_batch_metrics
from email_sender.batch_processor import likely_idempotency_key, process_batch, sqs_records
from email_sender.dead_letter import dead_letter
from email_sender.email_request import EmailRequest, parse_email_request
from email_sender.ses_delivery import send_email
from groundskeeper.errors import (
    DEADLINE_NEAR,
    IDEMPOTENCY_KEY_REUSED,
    Outcome,
    PermanentError,
    SendingPaused,
    TransientError,
    error_code,
)
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

    from email_sender.batch_processor import PartialBatchResponse
    from email_sender.send_pacing import SendPacer
    from email_sender.settings import Settings
    from email_sender.template_store import RenderedEmail, TemplateStore

# Don't start a record with less time than one slow SES call needs: a timed-out invocation returns the
# whole batch to the queue and leaves the interrupted record's in-progress lock until the deadline.
DEADLINE_MARGIN_MS = 5_000


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    # Powertools calls this only when it answers from the idempotency table, i.e. nothing was sent now.
    del idempotent_data  # the hook's signature; the record itself is not needed
    return {**(response or {}), "outcome": Outcome.DUPLICATE}


@dataclass(eq=False)
class Invocation:
    """What the records of one invocation share: its deadline, the pause flag and the tallies."""

    lambda_context: LambdaContext | None
    tally: BatchTally = field(default_factory=BatchTally)
    # Set by the first record that SES answers "paused", never unset; records that start later make no call.
    paused_by: str | None = None

    def stop_if_paused(self) -> None:
        if self.paused_by:
            raise SendingPaused(self.paused_by, "sending was paused earlier in this batch; not attempted")

    def remaining_ms(self) -> int | None:
        return self.lambda_context.get_remaining_time_in_millis() if self.lambda_context else None


class EmailSender:
    """The container's sender: built once, at cold start; `deliver_batch` runs one invocation.

    Its records run on up to `settings.send_concurrency` threads at once. What they share is safe: the boto3
    clients (thread-safe once made), the TemplateStore (locks a first fetch), the pacer (a lock), the
    idempotency layer (configured here, before any thread; after that each call only reads it, and its local
    cache, which is not thread-safe, stays off) and the Invocation (its tally locks, its flag is only set).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        ses: SESClient,
        sqs: SQSClient,
        dynamodb: DynamoDBClient,
        templates: TemplateStore,
        pacer: SendPacer,
    ) -> None:
        self.settings = settings
        self.ses = ses
        self.sqs = sqs
        self.templates = templates
        self.pacer = pacer
        self._idempotency = IdempotencyConfig(
            event_key_jmespath="key",
            # The same key with a different request is a producer bug: refuse it loudly, don't skip it.
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=settings.idempotency_ttl_seconds,
            response_hook=_mark_duplicate,
        )
        persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb)
        # Powertools configures the layer on every call, but its first configure() is not atomic: another
        # thread could see `configured` set before the key expression is, and hash the wrong key. Doing it
        # now, single-threaded, leaves the calls only re-assigning the same function name.
        persistence.configure(
            self._idempotency, function_name=f"{__name__}.{EmailSender._deliver.__qualname__}"
        )
        self._deliver_once = idempotent_function(
            data_keyword_argument="job", persistence_store=persistence, config=self._idempotency
        )(self._deliver)

    def deliver_batch(
        self, event: dict[str, Any], lambda_context: LambdaContext | None
    ) -> PartialBatchResponse:
        """Run every record of an SQS event; only retryable failures are reported back."""
        records = sqs_records(event)
        if lambda_context is not None:
            # Without it an in-progress record outlives a timed-out invocation and blocks the retry.
            self._idempotency.register_lambda_context(lambda_context)
        invocation = Invocation(lambda_context)
        response = process_batch(
            records,
            lambda record: self.handle(record, invocation),
            _log_failure,
            concurrency=self.settings.send_concurrency,
            group_key=likely_idempotency_key,
        )
        emit_batch_metrics(invocation.tally, response, paused=bool(invocation.paused_by))
        return response

    def handle(self, record: dict[str, Any], invocation: Invocation) -> Outcome:
        """Deliver one record; returns its outcome. Raising puts the record in batchItemFailures."""
        invocation.stop_if_paused()
        remaining = invocation.remaining_ms()
        if remaining is not None and remaining < DEADLINE_MARGIN_MS:
            raise TransientError(DEADLINE_NEAR, "too little time left in this invocation; not attempted")
        message_id = str(record["messageId"])
        body = str(record["body"])
        try:
            request = parse_email_request(body, self.settings.sender_email)
            job = {"key": request.idempotency_key or message_id, "request": request.fingerprint()}
            result = self._deliver_once(job=job, request=request, invocation=invocation)
        except IdempotencyValidationError:
            reused = PermanentError(
                IDEMPOTENCY_KEY_REUSED, "idempotency_key was already used for a different request"
            )
            return self._dead_letter(message_id, body, reused, invocation)
        except PermanentError as exc:
            return self._dead_letter(message_id, body, exc, invocation)
        except SendingPaused as exc:
            invocation.paused_by = exc.code
            raise
        outcome = Outcome(result["outcome"])
        invocation.tally.count(outcome)
        logger.info("email request handled", extra={"message_id": message_id, "outcome": outcome})
        return outcome

    def _deliver(
        self, *, job: dict[str, Any], request: EmailRequest, invocation: Invocation
    ) -> dict[str, str]:
        """Runs at most once per key. Raising deletes the in-progress record, so that a retry may run."""
        # Rendered here, not by SES: a render that fails is refused now, with its reason, where SES would
        # accept the send and drop the email; and the HTML part escapes every value.
        rendered = self.templates.get(self.ses, request.template).render(request.data)
        message_id = self._send(request, rendered, invocation)
        return {"outcome": Outcome.SENT, "ses_message_id": message_id}

    def _send(self, request: EmailRequest, rendered: RenderedEmail, invocation: Invocation) -> str:
        remaining = invocation.remaining_ms()
        time_left = None if remaining is None else (remaining - DEADLINE_MARGIN_MS) / 1000
        self.pacer.wait_for_turn(len(request.to) + len(request.cc) + len(request.bcc), time_left)
        # Paused while this record waited, or started before another record saw the pause: stop short of a
        # send that would fail the same way. Raising here deletes this record's in-progress lock.
        invocation.stop_if_paused()
        return send_email(self.ses, request, rendered)

    def _dead_letter(
        self, message_id: str, body: str, exc: PermanentError, invocation: Invocation
    ) -> Outcome:
        # If this send fails the exception propagates and the record is retried: nothing is lost.
        dead_letter(
            self.sqs,
            self.settings.dead_letter_queue_url,
            body,
            code=exc.code,
            reason=exc.message,
            source_message_id=message_id,
        )
        invocation.tally.count(Outcome.DEAD_LETTERED, exc.code)
        # The reason stays out of the log: it may quote an address. It travels with the DLQ message.
        logger.info(
            "email request handled",
            extra={"message_id": message_id, "outcome": Outcome.DEAD_LETTERED, "error_code": exc.code},
        )
        return Outcome.DEAD_LETTERED


def _log_failure(record: dict[str, Any], exc: Exception) -> None:
    code = getattr(exc, "code", None) or error_code(exc) or type(exc).__name__
    outcome = Outcome.PAUSED if isinstance(exc, SendingPaused) else Outcome.RETRY
    logger.warning(
        "email request handled",
        extra={"message_id": record.get("messageId"), "outcome": outcome, "error_code": str(code)},
    )
