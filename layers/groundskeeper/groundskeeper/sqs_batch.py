"""The one SQS batch runner: a batch's records through a handler, up to N at once, into a partial response.

A record whose handler raises is sent back to SQS, unless the dead-letter policy parks it: a PermanentError
at once, and any failure on the queue's last receive, go to the dead-letter queue with their reason (a
redrive policy would move them only after the last receive, and with no reason). Every queue-triggered
function (the email sender, the hub's workers) runs its batches through here.

It does what Powertools' BatchProcessor does for SQS with `raise_on_entire_batch_failure=False`, plus
concurrency, in a few lines of public Python. Powertools' batch module imports asyncio and every event
data class (about 40 ms of CPU at cold start), and would have to be reached into through private methods
to run records concurrently.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from groundskeeper.dead_letter import dead_letter, receive_count
from groundskeeper.errors import NotAnSqsBatch, PermanentError, coded_failure

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

Record = dict[str, Any]
T = TypeVar("T")


class ItemFailure(TypedDict):
    itemIdentifier: str


class PartialBatchResponse(TypedDict):
    """What a Lambda with ReportBatchItemFailures returns: the records SQS must deliver again."""

    batchItemFailures: list[ItemFailure]


@dataclass(frozen=True)
class DeadLettered:
    """A record the policy parked: its code and reason, and the message id the dead-letter queue gave it."""

    record: Record
    code: str
    reason: str
    dead_letter_message_id: str


@dataclass(frozen=True)
class DeadLetterPolicy:
    """Dead-letter a PermanentError at once, and any failure on the last receive, with a reason.

    A record whose `ApproximateReceiveCount` is missing or not a positive integer is on its last receive:
    no later receive can be told from this one, and the redrive policy would move it without a reason.

    With no `queue_url` nothing is parked: every failure goes back to SQS, whose redrive policy moves the
    record after its last receive (without a reason).
    """

    sqs: SQSClient
    queue_url: str
    max_receive_count: int

    def verdict(self, record: Mapping[str, Any], exc: Exception) -> tuple[str, str] | None:
        """(code, reason) of a record to dead-letter now, else None: SQS delivers it again."""
        if not self.queue_url:
            return None
        if isinstance(exc, PermanentError):
            return exc.code, exc.message
        receives = receive_count(record)
        if receives is not None and receives < self.max_receive_count:
            return None
        code, message = coded_failure(exc)
        if receives is None:
            # Retried, it could only end in the redrive policy's DLQ move, which carries no reason.
            return code, f"{message} (receive count unknown: counted as the last receive, not retried)"
        return code, f"{message} (receive {receives} of {self.max_receive_count}: not retried again)"

    def apply(
        self, record: Record, handle: Callable[[Record], T], on_dead_lettered: Callable[[DeadLettered], T]
    ) -> T:
        """`handle(record)`; if it raises and the verdict parks the record, what `on_dead_lettered` returns.

        The ORIGINAL body is dead-lettered, so a fixed record can be redriven as it is. A failure the
        policy does not park is re-raised, and so is the dead-letter queue's refusal: SQS retries the
        record, nothing is lost.
        """
        try:
            return handle(record)
        except Exception as exc:
            verdict = self.verdict(record, exc)
            if verdict is None:
                raise
            code, reason = verdict
            message_id = dead_letter(
                self.sqs,
                self.queue_url,
                str(record["body"]),
                code=code,
                reason=reason,
                source_message_id=str(record["messageId"]),
            )
            return on_dead_lettered(DeadLettered(record, code, reason, message_id))


def sqs_records(event: object) -> list[Record]:
    """The records of an SQS event; NotAnSqsBatch, naming the first problem, for anything else.

    Lambda's SQS trigger sends only batches whose every record is an object with a `messageId` and a
    `body`. Anything else comes from elsewhere (an operator's test invoke, another trigger's event) and is
    refused whole, before any record runs: a record without a `messageId` can neither be reported back in
    batchItemFailures nor be dead-lettered as the message it is not, and guessing at the others helps no one.
    """
    if not isinstance(event, Mapping):
        raise NotAnSqsBatch(f"not an SQS event: the event is {_json_kind(event)}, not an object with Records")
    records = event.get("Records")
    if not isinstance(records, list):
        raise NotAnSqsBatch("not an SQS event: no Records list")
    for index, record in enumerate(records):
        problem = _record_problem(record)
        if problem:
            raise NotAnSqsBatch(f"not an SQS event: Records[{index}] {problem}")
    return records


def _record_problem(record: object) -> str | None:
    if not isinstance(record, Mapping):
        return f"is {_json_kind(record)}, not an SQS message"
    source = record.get("eventSource", record.get("EventSource"))
    of = f" (an {source} record)" if isinstance(source, str) and source != "aws:sqs" else ""
    message_id = record.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        return f"has no messageId{of}"
    if not isinstance(record.get("body"), str):
        return f"has no body{of}"
    return None


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}"


def run_batch(
    records: list[Record],
    handle: Callable[[Record], object],
    *,
    policy: DeadLetterPolicy,
    on_retry: Callable[[Record, Exception], None],
    on_dead_lettered: Callable[[DeadLettered], object],
    concurrency: int = 1,
    group_key: Callable[[Record], str] | None = None,
) -> PartialBatchResponse:
    """`process_batch` with the dead-letter policy: a parked record is acknowledged, after `on_dead_lettered`;
    any other failure is retried, after `on_retry`."""
    return process_batch(
        records,
        lambda record: policy.apply(record, handle, on_dead_lettered),
        on_retry,
        concurrency=concurrency,
        group_key=group_key,
    )


def process_batch(
    records: list[Record],
    handle: Callable[[Record], object],
    on_failure: Callable[[Record, Exception], None],
    *,
    concurrency: int = 1,
    group_key: Callable[[Record], str] | None = None,
) -> PartialBatchResponse:
    """Call `handle` on each record; a record whose call raises is reported back, after `on_failure`.

    With `concurrency` > 1 up to that many records run at once, on a thread pool. Records with the same
    `group_key` run one after another on one thread, in batch order. batchItemFailures keeps the batch's
    order whatever order the threads finish in. With 1, the records run in batch order on this thread.
    """
    failed = [False] * len(records)

    def run(indexes: list[int]) -> None:
        for index in indexes:
            try:
                handle(records[index])
            # One record's failure, whatever it is, sends that record back to SQS: it must not fail the
            # other records of the batch (Powertools' BatchProcessor catches the same way).
            except Exception as exc:  # noqa: BLE001
                failed[index] = True
                on_failure(records[index], exc)

    groups: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        key = group_key(record) if group_key else str(index)
        groups.setdefault(key, []).append(index)
    workers = min(concurrency, len(groups))
    if workers <= 1:
        run(list(range(len(records))))
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sqs-batch") as pool:
            # list() waits for every group, and re-raises what a record did not catch (a BaseException).
            list(pool.map(run, groups.values()))
    return {
        "batchItemFailures": [
            {"itemIdentifier": str(record["messageId"])}
            for record, record_failed in zip(records, failed, strict=True)
            if record_failed
        ]
    }
