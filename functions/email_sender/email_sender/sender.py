"""Delivers each email request exactly once: validate, deduplicate, check the template, pace, send or DLQ."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from email_sender.batch_metrics import BatchTally, emit_batch_metrics
from email_sender.email_request import EmailRequest, parse_email_request
from email_sender.errors import (
    DEADLINE_NEAR,
    IDEMPOTENCY_KEY_REUSED,
    SEND_IN_PROGRESS,
    SEND_OUTCOME_UNKNOWN,
    MarkNotCleared,
    Outcome,
    OutcomeUnknown,
    SendingPaused,
)
from email_sender.idempotency_record import IdempotencyRecords, KeyReused, RecordUnavailable, payload_hash
from email_sender.queue_consumer import QueueConsumer
from email_sender.requeue import idempotency_source, refused_attempt, requeue
from email_sender.ses_delivery import send_email
from email_sender.template_store import CompileTime
from groundskeeper.aws_clients import SINGLE_ATTEMPT_CONNECT_TIMEOUT, SINGLE_ATTEMPT_READ_TIMEOUT
from groundskeeper.errors import NotAnSqsBatch, PermanentError, TransientError, coded_failure
from groundskeeper.observability import MetricUnit, logger, metrics
from groundskeeper.sqs_batch import DeadLetterPolicy, process_batch, sqs_records

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

    from email_sender.idempotency_record import Found
    from email_sender.request_policy import RequestPolicy
    from email_sender.send_pacing import SendPacer
    from email_sender.settings import Settings
    from email_sender.template_store import RenderedEmail, TemplateStore
    from groundskeeper.sqs_batch import DeadLettered, PartialBatchResponse

# The longest a send can take (one attempt, the send client's connect and read timeouts). A send is only
# started with at least this much time left, so the Lambda timeout never kills an invocation mid-send.
SEND_WORST_CASE_MS = (SINGLE_ATTEMPT_CONNECT_TIMEOUT + SINGLE_ATTEMPT_READ_TIMEOUT) * 1000
# The longest the send-started mark can take: it goes through a one-attempt DynamoDB client with the same
# timeouts. The mark is started only with time left for it and the send after it, so the Lambda timeout
# never kills an invocation between a written mark and its send (a mark with no send behind it would be
# parked as SendOutcomeUnknown by the redelivery).
MARK_WORST_CASE_MS = (SINGLE_ATTEMPT_CONNECT_TIMEOUT + SINGLE_ATTEMPT_READ_TIMEOUT) * 1000
MARK_AND_SEND_WORST_CASE_MS = MARK_WORST_CASE_MS + SEND_WORST_CASE_MS
# Don't start a record with less time than its mark and its send may need, plus a second for the claim and
# the render: a record that cannot reach its send only costs a claim and a retry.
DEADLINE_MARGIN_MS = MARK_AND_SEND_WORST_CASE_MS + 1_000
# Clearing a refused send's mark (a DeleteItem, each with the shared client's retries) is tried this often
# before the request is put back on the queue with the refused attempt named instead.
RELEASE_TRIES = 2
# How long a copy put back on the queue waits before it can be received: the pause checker's period. While
# sending is paused the mapping is stopped anyway; a refused send's copy waits about as long as a
# throttled send's redelivery (the visibility timeout, 180 s).
REQUEUE_DELAY_SECONDS = 300
# The most that compiling one template may take, as a fraction of the function's timeout (what an invocation
# has at its start). A template's first send compiles it, and must then have the time for its send mark and
# its send (MARK_AND_SEND_WORST_CASE_MS), as the batch's other records must for theirs: a compile that needs
# more than a third of the timeout is refused as too large (InvalidTemplate, for good). One stopped earlier
# by the invocation's own deadline is retried (DeadlineNear). See docs/email-sender.md, Templates.
COMPILE_BUDGET_FRACTION = 1 / 3
# Lambda's longest timeout: the deadline of an invocation whose context is unknown.
MAX_INVOCATION_MS = 15 * 60 * 1000
# An invocation is judged dead this long after its deadline (Lambda's clocks agree far better than this).
CLOCK_SKEW_MS = 5_000
# What a stored result holds besides the outcome.
SES_MESSAGE_ID = "ses_message_id"


def _as_duplicate(stored: dict[str, str]) -> dict[str, str]:
    """The answer to a delivery of a key already completed: nothing is sent now."""
    if stored.get("outcome") == Outcome.DEAD_LETTERED:
        # An earlier delivery's send had an unknown outcome: this copy goes to the DLQ too, with the reason,
        # in case the first copy's dead-lettering failed. It is never sent.
        return stored
    return {**stored, "outcome": Outcome.DUPLICATE}


def _unknown_outcome(reason: str) -> dict[str, str]:
    """The result stored for a send SES may have accepted: COMPLETED, so no redelivery sends it again."""
    return {"outcome": Outcome.DEAD_LETTERED, "error_code": SEND_OUTCOME_UNKNOWN, "reason": reason}


@dataclass(eq=False)
class Invocation:
    """What the records of one invocation share: its deadline, the pause flag and the tallies."""

    lambda_context: LambdaContext | None
    tally: BatchTally = field(default_factory=BatchTally)
    # Set by the first record that SES answers "paused", never unset; records that start later make no call.
    paused_by: str | None = None
    # Records delivered whose idempotency record could not be completed; appended to from the record threads.
    incomplete: list[str] = field(default_factory=list)
    # The time the invocation had at its start: the function's timeout, as far as the code can know it.
    started_ms: int | None = field(init=False)

    def __post_init__(self) -> None:
        self.started_ms = self.remaining_ms()

    def stop_if_paused(self) -> None:
        if self.paused_by:
            raise SendingPaused(self.paused_by, "sending was paused earlier in this batch; not attempted")

    def remaining_ms(self) -> int | None:
        return self.lambda_context.get_remaining_time_in_millis() if self.lambda_context else None

    def compile_time(self) -> CompileTime | None:
        """How long compiling a template may take here: its budget, and until its send must start. Both are
        read on the invocation's own clock, its remaining time (None: no deadline, nothing bounds it)."""
        if self.started_ms is None:
            return None
        return CompileTime(
            budget=self.started_ms * COMPILE_BUDGET_FRACTION / 1000,
            time_left=lambda: ((self.remaining_ms() or 0) - MARK_AND_SEND_WORST_CASE_MS) / 1000,
            clock=lambda: -(self.remaining_ms() or 0) / 1000,
        )

    def record_incomplete(self, message_id: str) -> None:
        self.incomplete.append(message_id)  # list.append is atomic

    def function_name(self) -> str:
        return str(getattr(self.lambda_context, "function_name", "") or "")


@dataclass
class SendAttempt:
    """One record's try at its send: the id its mark carries, and whether the mark may have been written."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    marked: bool = False


class EmailSender:
    """The container's sender: built once, at cold start; `deliver_batch` runs one invocation.

    Its records run on up to `settings.send_concurrency` threads at once. What they share is safe: the boto3
    clients (thread-safe once made), the TemplateStore (locks a first fetch), the pacer (a lock), the
    idempotency records (no state but the client) and the Invocation (its tally locks, its flag is only set).
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
        policy: RequestPolicy,
        send_ses: SESClient | None = None,
        mark_dynamodb: DynamoDBClient | None = None,
        lambda_client: LambdaClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.ses = ses
        # The client that sends: one attempt per call (see docs/email-sender.md, exactly once).
        self.send_ses = send_ses or ses
        self.sqs = sqs
        self.dynamodb = dynamodb
        self.templates = templates
        self.pacer = pacer
        self.policy = policy
        self.clock = clock
        self.records = IdempotencyRecords(
            dynamodb,
            settings.idempotency_table,
            settings.idempotency_ttl_seconds,
            mark_dynamodb=mark_dynamodb,
        )
        # Stops the email queue's mapping when SES says paused (None: nothing to stop, as in most tests).
        self.consumer = QueueConsumer(lambda_client) if lambda_client is not None else None
        self._dead_letters = DeadLetterPolicy(sqs, settings.dead_letter_queue_url, settings.max_receive_count)

    def deliver_batch(self, event: object, lambda_context: LambdaContext | None) -> PartialBatchResponse:
        """Run every record of an SQS event; only retryable failures are reported back.

        NotAnSqsBatch, before any AWS call, for an event that is not an SQS batch (an operator's test invoke).
        """
        try:
            records = sqs_records(event)
        except NotAnSqsBatch as exc:
            logger.error(
                "not an SQS batch: nothing done", extra={"error_code": type(exc).__name__, "reason": str(exc)}
            )
            raise
        invocation = Invocation(lambda_context)
        response = process_batch(
            records,
            lambda record: self.handle(record, invocation),
            _log_failure,
            concurrency=self.settings.send_concurrency,
            group_key=likely_idempotency_key,
        )
        if invocation.paused_by and self.consumer is not None and records:
            self.consumer.stop(
                str(records[0].get("eventSourceARN", "")), invocation.function_name(), invocation.paused_by
            )
        emit_batch_metrics(
            invocation.tally,
            response,
            paused=bool(invocation.paused_by),
            version=lambda_context.function_version if lambda_context else None,
        )
        if invocation.incomplete:
            metrics.add_metric(
                name="IdempotencyCompleteFailed", unit=MetricUnit.Count, value=len(invocation.incomplete)
            )
        return response

    def handle(self, record: dict[str, Any], invocation: Invocation) -> Outcome:
        """Deliver one record; returns its outcome. Raising puts the record in batchItemFailures.

        A PermanentError, and any failure on the queue's last receive, is dead-lettered with its reason
        (the layer's dead-letter policy); an earlier receive's failure re-raises, and SQS delivers it again.
        """
        return self._dead_letters.apply(
            record,
            lambda item: self._handle(item, invocation),
            lambda parked: self._dead_lettered(parked, invocation),
        )

    def _handle(self, record: dict[str, Any], invocation: Invocation) -> Outcome:
        message_id = str(record["messageId"])
        try:
            invocation.stop_if_paused()
            remaining = invocation.remaining_ms()
            if remaining is not None and remaining < DEADLINE_MARGIN_MS:
                raise TransientError(DEADLINE_NEAR, "too little time left in this invocation; not attempted")
            request = parse_email_request(str(record["body"]), self.settings.sender_email)
            self.policy.check(request)
            key = self.records.key(request.idempotency_key or idempotency_source(record))
            payload = payload_hash(request.fingerprint())
            try:
                # Locked until this invocation's deadline: a timed-out invocation does not block the retry.
                found = self.records.claim(
                    key,
                    payload,
                    now=self.clock(),
                    remaining_ms=invocation.remaining_ms(),
                    refused_attempt=refused_attempt(record),
                )
            except KeyReused as exc:
                raise PermanentError(
                    IDEMPOTENCY_KEY_REUSED, "idempotency_key was already used for a different request"
                ) from exc
            if found is None:
                result = self._deliver_once(key, payload, message_id, request, invocation)
            elif found.result is not None:
                result = _as_duplicate(found.result)
            else:
                result = self._in_progress_elsewhere(found)
        except MarkNotCleared as exc:
            # SES refused the send, so nothing was sent; but the mark stays. The copy names the refused
            # attempt, so its delivery claims the record instead of finding a send that may have happened.
            # A permanent refusal goes to the DLQ with its reason as any other.
            if isinstance(exc.cause, PermanentError):
                raise exc.cause from exc
            paused = isinstance(exc.cause, SendingPaused)
            if paused:
                invocation.paused_by = exc.code
            if self._put_back(record, invocation, exc.code, paused=paused, refused=exc.attempt):
                return Outcome.PAUSED if paused else Outcome.RETRY
            raise exc.cause from exc
        except SendingPaused as exc:
            invocation.paused_by = exc.code
            # A paused receive must not count toward maxReceiveCount: the copy's receives start again.
            if self._put_back(record, invocation, exc.code, paused=True):
                return Outcome.PAUSED
            raise
        outcome = Outcome(result["outcome"])
        if outcome is Outcome.DEAD_LETTERED:  # the send's outcome is unknown: an operator decides
            raise PermanentError(result["error_code"], result["reason"])
        invocation.tally.count(outcome)
        logger.info("email request handled", extra={"message_id": message_id, "outcome": outcome})
        return outcome

    def _deliver_once(
        self, key: str, payload: str, message_id: str, request: EmailRequest, invocation: Invocation
    ) -> dict[str, str]:
        """Deliver under this delivery's lock on `key`; the result is stored for every later delivery.

        If the delivery raises, nothing was sent: the lock is released, so that a retry may send. If it
        cannot be, and the send was marked, MarkNotCleared: the request must be put back naming the attempt.
        """
        attempt = SendAttempt()
        try:
            result = self._deliver(key, request, invocation, attempt)
        except Exception as exc:
            # Unmarked, a lock that stays expires with this invocation; a mark stays until the record does.
            if not self._release(key) and attempt.marked:
                raise MarkNotCleared(exc, attempt.id) from exc
            raise
        try:
            self.records.complete(key, payload, result, now=self.clock())
        except RecordUnavailable as exc:
            return self._delivered_but_not_recorded(message_id, result, exc, invocation)
        return result

    def _release(self, key: str) -> bool:
        for _ in range(RELEASE_TRIES):
            try:
                self.records.release(key)
            except RecordUnavailable:
                continue
            return True
        return False

    def _put_back(
        self,
        record: dict[str, Any],
        invocation: Invocation,
        code: str,
        *,
        paused: bool,
        refused: str | None = None,
    ) -> bool:
        """Put the request back on the email queue as a new message; False if it could not be."""
        if not requeue(
            self.sqs,
            self.settings.email_queue_url,
            record,
            delay_seconds=REQUEUE_DELAY_SECONDS,
            refused=refused,
        ):
            return False
        invocation.tally.requeue()
        logger.info(
            "email request handled",
            extra={
                "message_id": record["messageId"],
                "outcome": Outcome.PAUSED if paused else Outcome.RETRY,
                "error_code": code,
                "requeued": True,
            },
        )
        return True

    def _deliver(
        self, key: str, request: EmailRequest, invocation: Invocation, attempt: SendAttempt
    ) -> dict[str, str]:
        """Raises only when nothing was sent; a send SES may have accepted returns a result instead."""
        # Rendered here, not by SES: a render that fails is refused now, with its reason, where SES would
        # accept the send and drop the email; and the HTML part escapes every value.
        template = self.templates.get(self.ses, request.template, invocation.compile_time())
        rendered = template.render(request.data)
        try:
            message_id = self._send(key, request, rendered, invocation, attempt)
        except OutcomeUnknown as exc:
            return _unknown_outcome(exc.message)
        return {"outcome": Outcome.SENT, SES_MESSAGE_ID: message_id}

    def _send(
        self,
        key: str,
        request: EmailRequest,
        rendered: RenderedEmail,
        invocation: Invocation,
        attempt: SendAttempt,
    ) -> str:
        remaining = invocation.remaining_ms()
        time_left = None if remaining is None else (remaining - MARK_AND_SEND_WORST_CASE_MS) / 1000
        self.pacer.wait_for_turn(len(request.to) + len(request.cc) + len(request.bcc), time_left)
        # Paused while this record waited, or started before another record saw the pause: stop short of a
        # send that would fail the same way. Raising here deletes this record's in-progress lock.
        invocation.stop_if_paused()
        remaining = invocation.remaining_ms()
        if remaining is not None and remaining < MARK_AND_SEND_WORST_CASE_MS:
            raise TransientError(
                DEADLINE_NEAR, "too little time left for the send mark and the send; not attempted"
            )
        attempt.marked = True  # from here the mark may be written, even if its write then fails
        self._mark_send_started(key, invocation, attempt.id)
        remaining = invocation.remaining_ms()
        if remaining is not None and remaining < SEND_WORST_CASE_MS:
            raise TransientError(DEADLINE_NEAR, "too little time left for the send; not attempted")
        return send_email(self.send_ses, request, rendered, self.settings.ses_configuration_set)

    def _mark_send_started(self, key: str, invocation: Invocation, attempt: str) -> None:
        """Record, before the send, that it starts, and until when this invocation can be running it.

        A claim's lock expires with the invocation that took it, and a redelivery after that would run the
        send again: a second email if the first invocation was killed after SES accepted. The mark keeps the
        lock until the record itself expires; a redelivery that finds it after the deadline knows a send
        may have happened and does not repeat it.
        """
        now = self.clock()
        remaining = invocation.remaining_ms()
        deadline_ms = int(now * 1000) + (MAX_INVOCATION_MS if remaining is None else remaining)
        self.records.mark_send_started(key, now=now, deadline_ms=deadline_ms, attempt=attempt)

    def _in_progress_elsewhere(self, found: Found) -> dict[str, str]:
        """The key is locked: a live invocation delivers it, or one died during its send."""
        deadline = found.send_deadline_ms
        if deadline is not None and deadline + CLOCK_SKEW_MS < self.clock() * 1000:
            return _unknown_outcome(
                "an earlier delivery of this key started its send and was stopped (killed or timed out) "
                "before it recorded the result: SES may have accepted it"
            )
        raise TransientError(SEND_IN_PROGRESS, "another invocation is delivering this idempotency key")

    def _delivered_but_not_recorded(
        self,
        message_id: str,
        result: dict[str, str],
        exc: RecordUnavailable,
        invocation: Invocation,
    ) -> dict[str, str]:
        # The send is done (or its outcome unknown): sending again would be the duplicate. The record stays in
        # progress with its send mark, so a redelivery will not send either.
        invocation.record_incomplete(message_id)
        logger.warning(
            "idempotency record not completed after the send",
            extra={
                "message_id": message_id,
                SES_MESSAGE_ID: result.get(SES_MESSAGE_ID),
                "error_code": exc.code,
                "reason": exc.message,
            },
        )
        return result

    @staticmethod
    def _dead_lettered(parked: DeadLettered, invocation: Invocation) -> Outcome:
        invocation.tally.count(Outcome.DEAD_LETTERED, parked.code)
        # The reason stays out of the log: it may quote an address. It travels with the DLQ message.
        logger.info(
            "email request handled",
            extra={
                "message_id": parked.record["messageId"],
                "outcome": Outcome.DEAD_LETTERED,
                "error_code": parked.code,
            },
        )
        return Outcome.DEAD_LETTERED


def _log_failure(record: dict[str, Any], exc: Exception) -> None:
    code, _ = coded_failure(exc)
    outcome = Outcome.PAUSED if isinstance(exc, SendingPaused) else Outcome.RETRY
    logger.warning(
        "email request handled",
        extra={"message_id": record.get("messageId"), "outcome": outcome, "error_code": str(code)},
    )


def likely_idempotency_key(record: Mapping[str, Any]) -> str:
    """The idempotency key an SQS record will most likely use, read cheaply: records sharing one take turns.

    Two records with one key in the same batch would otherwise run at once, and the second would find
    the first's in-progress lock and be retried; in turn, it is simply skipped as a duplicate. A wrong
    guess costs nothing but that retry: exactly-once rests on the idempotency table, not on this.
    """
    message_id = idempotency_source(record)
    try:
        body = json.loads(record.get("body") or "")
    except (ValueError, RecursionError):
        return message_id
    key = body.get("idempotency_key") if isinstance(body, dict) else None
    return key if isinstance(key, str) and key else message_id
