"""Counts one invocation's outcomes across its record threads, and emits them as metrics once, at its end."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import single_metric

from email_sender.errors import Outcome
from groundskeeper.observability import MetricUnit, metrics

if TYPE_CHECKING:
    from groundskeeper.sqs_batch import PartialBatchResponse


class BatchTally:
    """Outcomes and dead-letter codes, counted under a lock from the record threads.

    Powertools' metrics.add_metric mutates a shared dict, so the threads count here and only the
    invocation's own thread emits, through `emit_batch_metrics`.
    """

    def __init__(self) -> None:
        self.outcomes: Counter[Outcome] = Counter()
        self.dead_lettered: Counter[str] = Counter()
        self.requeued = 0
        self._lock = threading.Lock()

    def requeue(self) -> None:
        """One record put back on the queue as a new message (paused, or a refused send's mark kept)."""
        with self._lock:
            self.requeued += 1

    def count(self, outcome: Outcome, code: str | None = None) -> None:
        with self._lock:
            self.outcomes[outcome] += 1
            if code:
                self.dead_lettered[code] += 1


def emit_batch_metrics(
    tally: BatchTally, response: PartialBatchResponse, *, paused: bool, version: str | None = None
) -> None:
    """One count per metric and invocation (not per message); zero counts are left out, but for the
    version's."""
    counts = {
        "EmailsSent": tally.outcomes[Outcome.SENT],
        "DuplicatesSkipped": tally.outcomes[Outcome.DUPLICATE],
        "EmailsDeadLettered": tally.outcomes[Outcome.DEAD_LETTERED],
        "EmailsRetried": len(response["batchItemFailures"]),
        "EmailsRequeued": tally.requeued,
        "SendingPaused": 1 if paused else 0,
    }
    for name, count in counts.items():
        if count:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    # One metric per error code, so that alarms can target e.g. MessageRejected.
    for code, count in sorted(tally.dead_lettered.items()):
        with single_metric(
            name="EmailsDeadLettered",
            unit=MetricUnit.Count,
            value=count,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            metric.add_dimension(name="error_code", value=code)
    # The records this version of the function could not deliver, retried or dead-lettered, under its
    # version: the deploy canary's rollback alarm watches the new version alone, so the old version's
    # failures cannot roll back a good new one. A 0 too: the version ran, and ran clean.
    if version:
        with single_metric(
            name="RecordsFailed",
            unit=MetricUnit.Count,
            value=len(response["batchItemFailures"]) + tally.outcomes[Outcome.DEAD_LETTERED],
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            metric.add_dimension(name="version", value=version)
