"""Delivers each email request exactly once: validate, deduplicate, check the template, pace, send or DLQ."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from email_sender.batch_metrics import BatchTally, emit_batch_metrics
from email_sender.email_request import EmailRequest, parse_email_request
from email_sender.errors import (
    DEADLINE_NEAR,
    IDEMPOTENCY_KEY_REUSED,
    IDEMPOTENCY_UNAVAILABLE,
    SEND_IN_PROGRESS,
    SEND_OUTCOME_UNKNOWN,
    Outcome,
    OutcomeUnknown,
    SendingPaused,
)
from email_sender.ses_delivery import send_email
from groundskeeper.aws_clients import SINGLE_ATTEMPT_CONNECT_TIMEOUT, SINGLE_ATTEMPT_READ_TIMEOUT
from groundskeeper.errors import PermanentError, TransientError, coded_failure, error_code, error_message
from groundskeeper.observability import MetricUnit, logger, metrics
from groundskeeper.sqs_batch import DeadLetterPolicy, process_batch, sqs_records

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

    from email_sender.request_policy import RequestPolicy
    from email_sender.send_pacing import SendPacer
    from email_sender.settings import Settings
    from email_sender.template_store import RenderedEmail, TemplateStore
    from groundskeeper.sqs_batch import DeadLettered, PartialBatchResponse

# Don't start a record with less time than one slow SES call needs: a timed-out invocation returns the
# whole batch to the queue and leaves the interrupted record's in-progress lock until the deadline.
DEADLINE_MARGIN_MS = 5_000
# The longest a send can take (one attempt, the send client's connect and read timeouts). A send is only
# started with at least this much time left, so the Lambda timeout never kills an invocation mid-send.
SEND_WORST_CASE_MS = (SINGLE_ATTEMPT_CONNECT_TIMEOUT + SINGLE_ATTEMPT_READ_TIMEOUT) * 1000
# Lambda's longest timeout: the deadline of an invocation whose context is unknown.
MAX_INVOCATION_MS = 15 * 60 * 1000
# An invocation is judged dead this long after its deadline (Lambda's clocks agree far better than this).
CLOCK_SKEW_MS = 5_000
# The attribute a send-started mark adds to the idempotency record: the deadline of the sending invocation.
SEND_DEADLINE_ATTRIBUTE = "send_deadline"
# What a stored result holds besides the outcome.
SES_MESSAGE_ID = "ses_message_id"


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    # Powertools calls this only when it answers from the idempotency table, i.e. nothing was sent now.
    del idempotent_data  # the hook's signature; the record itself is not needed
    if (response or {}).get("outcome") == Outcome.DEAD_LETTERED:
        # An earlier delivery's send had an unknown outcome: this copy goes to the DLQ too, with the reason,
        # in case the first copy's dead-lettering failed. It is never sent.
        return response
    return {**(response or {}), "outcome": Outcome.DUPLICATE}


def _unknown_outcome(reason: str) -> dict[str, str]:
    """The result stored for a send SES may have accepted: COMPLETED, so no redelivery sends it again."""
    return {"outcome": Outcome.DEAD_LETTERED, "error_code": SEND_OUTCOME_UNKNOWN, "reason": reason}


@dataclass
class Attempt:
    """One record's delivery, as far as it got: what `_deliver` returned, kept even if Powertools then raises.

    Powertools completes the idempotency record after the wrapped function returns; if that write fails it
    raises IdempotencyPersistenceLayerError, although the email went out. `result` says so.
    """

    result: dict[str, str] | None = None


@dataclass(eq=False)
class Invocation:
    """What the records of one invocation share: its deadline, the pause flag and the tallies."""

    lambda_context: LambdaContext | None
    tally: BatchTally = field(default_factory=BatchTally)
    # Set by the first record that SES answers "paused", never unset; records that start later make no call.
    paused_by: str | None = None
    # Records delivered whose idempotency record could not be completed; appended to from the record threads.
    incomplete: list[str] = field(default_factory=list)

    def stop_if_paused(self) -> None:
        if self.paused_by:
            raise SendingPaused(self.paused_by, "sending was paused earlier in this batch; not attempted")

    def remaining_ms(self) -> int | None:
        return self.lambda_context.get_remaining_time_in_millis() if self.lambda_context else None

    def record_incomplete(self, message_id: str) -> None:
        self.incomplete.append(message_id)  # list.append is atomic


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
        policy: RequestPolicy,
        send_ses: SESClient | None = None,
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
        self._idempotency = IdempotencyConfig(
            event_key_jmespath="key",
            # The same key with a different request is a producer bug: refuse it loudly, don't skip it.
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=settings.idempotency_ttl_seconds,
            response_hook=_mark_duplicate,
        )
        persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb)
        self._persistence = persistence
        # Powertools configures the layer on every call, but its first configure() is not atomic: another
        # thread could see `configured` set before the key expression is, and hash the wrong key. Doing it
        # now, single-threaded, leaves the calls only re-assigning the same function name.
        persistence.configure(
            self._idempotency, function_name=f"{__name__}.{EmailSender._deliver.__qualname__}"
        )
        self._dead_letters = DeadLetterPolicy(sqs, settings.dead_letter_queue_url, settings.max_receive_count)
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
        invocation.stop_if_paused()
        remaining = invocation.remaining_ms()
        if remaining is not None and remaining < DEADLINE_MARGIN_MS:
            raise TransientError(DEADLINE_NEAR, "too little time left in this invocation; not attempted")
        message_id = str(record["messageId"])
        body = str(record["body"])
        attempt = Attempt()
        try:
            request = parse_email_request(body, self.settings.sender_email)
            self.policy.check(request)
            job = {"key": request.idempotency_key or message_id, "request": request.fingerprint()}
            try:
                result = self._deliver_once(job=job, request=request, invocation=invocation, attempt=attempt)
            except IdempotencyAlreadyInProgressError:
                result = self._in_progress_elsewhere(job)
            except IdempotencyPersistenceLayerError as exc:
                if attempt.result is None:  # nothing was sent: SQS retries
                    raise TransientError(IDEMPOTENCY_UNAVAILABLE, _persistence_failure(exc)) from exc
                result = self._delivered_but_not_recorded(message_id, attempt.result, exc, invocation)
        except IdempotencyValidationError as exc:
            raise PermanentError(
                IDEMPOTENCY_KEY_REUSED, "idempotency_key was already used for a different request"
            ) from exc
        except SendingPaused as exc:
            invocation.paused_by = exc.code
            raise
        outcome = Outcome(result["outcome"])
        if outcome is Outcome.DEAD_LETTERED:  # the send's outcome is unknown: an operator decides
            raise PermanentError(result["error_code"], result["reason"])
        invocation.tally.count(outcome)
        logger.info("email request handled", extra={"message_id": message_id, "outcome": outcome})
        return outcome

    def _deliver(
        self, *, job: dict[str, Any], request: EmailRequest, invocation: Invocation, attempt: Attempt
    ) -> dict[str, str]:
        """Runs at most once per key. Raising deletes the in-progress record, so that a retry may run.

        So it raises only when nothing was sent; a send SES may have accepted returns a result instead.
        """
        # Rendered here, not by SES: a render that fails is refused now, with its reason, where SES would
        # accept the send and drop the email; and the HTML part escapes every value.
        rendered = self.templates.get(self.ses, request.template).render(request.data)
        try:
            message_id = self._send(job, request, rendered, invocation)
        except OutcomeUnknown as exc:
            attempt.result = _unknown_outcome(exc.message)
        else:
            attempt.result = {"outcome": Outcome.SENT, SES_MESSAGE_ID: message_id}
        return attempt.result

    def _send(
        self, job: dict[str, Any], request: EmailRequest, rendered: RenderedEmail, invocation: Invocation
    ) -> str:
        remaining = invocation.remaining_ms()
        time_left = None if remaining is None else (remaining - DEADLINE_MARGIN_MS) / 1000
        self.pacer.wait_for_turn(len(request.to) + len(request.cc) + len(request.bcc), time_left)
        # Paused while this record waited, or started before another record saw the pause: stop short of a
        # send that would fail the same way. Raising here deletes this record's in-progress lock.
        invocation.stop_if_paused()
        self._mark_send_started(job, invocation)
        remaining = invocation.remaining_ms()
        if remaining is not None and remaining < SEND_WORST_CASE_MS:
            raise TransientError(DEADLINE_NEAR, "too little time left for the send; not attempted")
        return send_email(self.send_ses, request, rendered, self.settings.ses_configuration_set)

    def _mark_send_started(self, job: dict[str, Any], invocation: Invocation) -> None:
        """Record, before the send, that it starts, and until when this invocation can be running it.

        Powertools lets an in-progress record expire with the invocation that wrote it, and a redelivery
        after that runs the send again: a second email if the first invocation was killed after SES
        accepted. The mark keeps the record in progress until the record itself expires; a redelivery
        that finds it after the deadline knows a send may have happened and does not repeat it.
        """
        now_ms = int(self.clock() * 1000)
        remaining = invocation.remaining_ms()
        deadline_ms = now_ms + (MAX_INVOCATION_MS if remaining is None else remaining)
        store = self._persistence
        try:
            self.dynamodb.update_item(
                TableName=self.settings.idempotency_table,
                Key={store.key_attr: {"S": self._record_key(job)}},
                UpdateExpression="SET #in_progress_expiry = :hold, #send_deadline = :deadline",
                ConditionExpression="#status = :in_progress",
                ExpressionAttributeNames={
                    "#in_progress_expiry": store.in_progress_expiry_attr,
                    "#send_deadline": SEND_DEADLINE_ATTRIBUTE,
                    "#status": store.status_attr,
                },
                ExpressionAttributeValues={
                    ":hold": {"N": str(now_ms + self.settings.idempotency_ttl_seconds * 1000)},
                    ":deadline": {"N": str(deadline_ms)},
                    ":in_progress": {"S": "INPROGRESS"},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(
                IDEMPOTENCY_UNAVAILABLE, f"could not mark the send as started: {failure_reason(exc)[1]}"
            ) from exc

    def _record_key(self, job: dict[str, Any]) -> str:
        # Powertools' own key for `job` ("<function>#<hash of job.key>"), so the mark lands on its record.
        key: str | None = self._persistence._get_hashed_idempotency_key(job)
        if key is None:  # not reached: raise_on_no_idempotency_key is set and job always has a key
            raise TransientError(IDEMPOTENCY_UNAVAILABLE, "no idempotency key")
        return key

    def _in_progress_elsewhere(self, job: dict[str, Any]) -> dict[str, str]:
        """The key's record is in progress: a live invocation delivers it, or one died during its send."""
        try:
            item = self.dynamodb.get_item(
                TableName=self.settings.idempotency_table,
                Key={self._persistence.key_attr: {"S": self._record_key(job)}},
                ConsistentRead=True,
            ).get("Item", {})
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(IDEMPOTENCY_UNAVAILABLE, failure_reason(exc)[1]) from exc
        deadline = item.get(SEND_DEADLINE_ATTRIBUTE, {}).get("N")
        if deadline is not None and int(deadline) + CLOCK_SKEW_MS < self.clock() * 1000:
            return _unknown_outcome(
                "an earlier delivery of this key started its send and was stopped (killed or timed out) "
                "before it recorded the result: SES may have accepted it"
            )
        raise TransientError(SEND_IN_PROGRESS, "another invocation is delivering this idempotency key")

    def _delivered_but_not_recorded(
        self,
        message_id: str,
        result: dict[str, str],
        exc: IdempotencyPersistenceLayerError,
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
                "error_code": IDEMPOTENCY_UNAVAILABLE,
                "reason": _persistence_failure(exc),
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


def failure_reason(exc: BaseException) -> tuple[str, str]:
    """(error_code, message) for any failure: its own code, else AWS's, else the exception's type."""
    if isinstance(exc, IdempotencyPersistenceLayerError):
        return IDEMPOTENCY_UNAVAILABLE, _persistence_failure(exc)
    return coded_failure(exc)


def _persistence_failure(exc: IdempotencyPersistenceLayerError) -> str:
    cause = exc.__cause__
    if cause is None:
        return str(exc)
    return f"{exc.message}: {error_code(cause) or type(cause).__name__}: {error_message(cause)}"


def _log_failure(record: dict[str, Any], exc: Exception) -> None:
    code, _ = failure_reason(exc)
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
    message_id = str(record.get("messageId", ""))
    try:
        body = json.loads(record.get("body") or "")
    except (ValueError, RecursionError):
        return message_id
    key = body.get("idempotency_key") if isinstance(body, dict) else None
    return key if isinstance(key, str) and key else message_id
