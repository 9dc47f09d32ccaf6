"""Runs an SQS batch's records through a record handler, up to N at once, and builds the partial response.

It does what Powertools' BatchProcessor does for SQS with `raise_on_entire_batch_failure=False`, plus
concurrency, in a few lines of public Python. Powertools' module imports asyncio and every event data class
(about 20 ms of cold start, for a processor this function would have to reach into through private methods
to make concurrent).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


class ItemFailure(TypedDict):
    itemIdentifier: str


class PartialBatchResponse(TypedDict):
    """What a Lambda with ReportBatchItemFailures returns: the records SQS must deliver again."""

    batchItemFailures: list[ItemFailure]


def sqs_records(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The records of an SQS event; ValueError for anything else (the event source never sends that)."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("not an SQS event: no Records list")
    return records


def process_batch(
    records: list[dict[str, Any]],
    handle: Callable[[dict[str, Any]], object],
    on_failure: Callable[[dict[str, Any], Exception], None],
    *,
    concurrency: int = 1,
    group_key: Callable[[dict[str, Any]], str] | None = None,
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
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="email-sender") as pool:
            # list() waits for every group, and re-raises what a record did not catch (a BaseException).
            list(pool.map(run, groups.values()))
    return {
        "batchItemFailures": [
            {"itemIdentifier": str(record["messageId"])}
            for record, record_failed in zip(records, failed, strict=True)
            if record_failed
        ]
    }


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
