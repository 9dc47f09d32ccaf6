"""Delivers each email request exactly once: validate, deduplicate, check the template, send or DLQ."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
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
    from collections.abc import Callable

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
    """One invocation's sender; `handle` is the BatchProcessor's record handler.

    `handle` runs on up to `settings.send_concurrency` threads at once. What they share is safe: the
    boto3 clients (thread-safe once made), the TemplateStore (locks a first fetch), the tallies (a lock),
    `paused_by` (one attribute, only ever set) and the idempotency layer (configured here, before any
    thread; after that each call only reads it, and its local cache, which is not thread-safe, stays off).
    """

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
        # Set by the first record that SES answers "paused"; records that start later make no call.
        self.paused_by: str | None = None
        self.lambda_context = lambda_context
        # What the batch did, counted here and emitted once per invocation by deliver_batch: Powertools'
        # metrics.add_metric mutates a shared dict, so the record threads never call it.
        self.outcomes: Counter[str] = Counter()
        self.dead_lettered: Counter[str] = Counter()
        self._tally_lock = threading.Lock()
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
        # Powertools configures the layer on every call, but its first configure() is not atomic: another
        # thread could see `configured` set before the key expression is, and hash the wrong key. Doing it
        # now, single-threaded, leaves the calls only re-assigning the same function name.
        persistence.configure(config, function_name=f"{__name__}.{EmailSender._deliver.__qualname__}")
        self._deliver_once = idempotent_function(
            data_keyword_argument="job", persistence_store=persistence, config=config
        )(self._deliver)

    def handle(self, record: SQSRecord) -> str:
        """Deliver one record; returns its outcome. Raising puts the record in batchItemFailures."""
        self._stop_if_paused()
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
            raise
        outcome = str(result["outcome"])
        self._count(outcome)
        logger.info("email request handled", extra={"message_id": record.message_id, "outcome": outcome})
        return outcome

    def _deliver(self, *, job: dict[str, Any], request: EmailRequest) -> dict[str, str]:
        """Runs at most once per key. Raising deletes the in-progress record, so that a retry may run."""
        checked = self.templates.get(self.ses, request.template)
        _check_renders(checked, request)
        # Started before another record saw the pause: stop short of a send that would fail the same way.
        # Raising here deletes this record's in-progress lock, so its retry sends.
        self._stop_if_paused()
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

    def _stop_if_paused(self) -> None:
        if self.paused_by:
            raise SendingPaused(self.paused_by, "sending was paused earlier in this batch; not attempted")

    def _count(self, outcome: str, code: str | None = None) -> None:
        with self._tally_lock:
            self.outcomes[outcome] += 1
            if code:
                self.dead_lettered[code] += 1

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
        self._count("dead_lettered", exc.code)
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


def likely_idempotency_key(record: dict[str, Any]) -> str:
    """The idempotency key an SQS record will most likely use, read cheaply: records sharing one take turns.

    Two records with one key in the same batch would otherwise run at once, and the second would find
    the first's in-progress lock and be retried; in turn, it is simply skipped as a duplicate. A wrong
    guess costs nothing but that retry: exactly-once rests on the idempotency table, not on this.
    """
    message_id = str(record.get("messageId", ""))
    try:
        body = json.loads(record.get("body") or "")
    except (ValueError, RecursionError):
        return message_id
    key = body.get("idempotency_key") if isinstance(body, dict) else None
    return key if isinstance(key, str) and key else message_id


class EmailBatchProcessor(BatchProcessor):
    """Powertools' SQS BatchProcessor that delivers up to `concurrency` records at once, and logs retries.

    Records with the same `group_key` run one after another on one thread, in batch order. The results,
    and so batchItemFailures, keep the order of the batch whatever order the threads finish in.
    """

    def __init__(
        self, concurrency: int = 1, group_key: Callable[[dict[str, Any]], str] | None = None
    ) -> None:
        # A fully failed batch (all throttled, or paused) is a normal partial response, not an error.
        super().__init__(EventType.SQS, raise_on_entire_batch_failure=False)
        self.concurrency = concurrency
        self.group_key = group_key

    def process(self) -> list[tuple[Any, ...]]:
        if self.concurrency <= 1 or len(self.records) <= 1:
            return super().process()
        groups: dict[str, list[int]] = {}
        for index, record in enumerate(self.records):
            key = self.group_key(record) if self.group_key else str(index)
            groups.setdefault(key, []).append(index)
        results: list[tuple[Any, ...]] = [()] * len(self.records)

        def run(indexes: list[int]) -> None:
            for index in indexes:
                results[index] = self._process_record(self.records[index])

        workers = min(self.concurrency, len(groups))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="email-sender") as pool:
            # list() waits for every group and re-raises what _process_record did not catch itself.
            list(pool.map(run, groups.values()))
        # The success and failure handlers appended in the order the threads finished: restore the batch's.
        self.success_messages[:] = [entry[2] for entry in results if entry[0] == "success"]
        self.fail_messages[:] = [entry[2] for entry in results if entry[0] == "fail"]
        return results

    def failure_handler(self, record: Any, exception: Any) -> Any:
        exc = exception[1]
        code = getattr(exc, "code", None) or error_code(exc) or type(exc).__name__
        outcome = "paused" if isinstance(exc, SendingPaused) else "retry"
        logger.warning(
            "email request handled",
            extra={"message_id": record.get("messageId"), "outcome": outcome, "error_code": str(code)},
        )
        return super().failure_handler(record, exception)


def deliver_batch(
    event: dict[str, Any], sender: EmailSender, context: LambdaContext | None
) -> PartialItemFailureResponse:
    """Run every record of an SQS event through `sender`; only retryable failures are reported back."""
    processor = EmailBatchProcessor(sender.settings.send_concurrency, likely_idempotency_key)
    response = process_partial_response(
        event=event, record_handler=sender.handle, processor=processor, context=context
    )
    # Counted per invocation, from this thread only (see EmailSender.outcomes).
    counts = {
        "EmailsSent": sender.outcomes["sent"],
        "DuplicatesSkipped": sender.outcomes["duplicate"],
        "EmailsDeadLettered": sender.outcomes["dead_lettered"],
        "EmailsRetried": len(response["batchItemFailures"]),
        "SendingPaused": 1 if sender.paused_by else 0,
    }
    for name, count in counts.items():
        if count:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
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
