"""Per-container memory of recent verdicts, so an upload burst costs one GetBucketCors per bucket."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cors_auditor.report import BucketReport

# Far more buckets than one container sees in a cache window; the bound only stops unbounded growth.
MAX_ENTRIES = 10_000


class VerdictCache:
    """bucket -> (when, report). Reads and writes are single dict operations, safe to share across threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, BucketReport]] = {}

    def get(self, bucket: str, max_age: float) -> BucketReport | None:
        entry = self._entries.get(bucket)
        if entry is None or max_age <= 0 or self._clock() - entry[0] >= max_age:
            return None
        return entry[1]

    def put(self, bucket: str, report: BucketReport) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[bucket] = (self._clock(), report)

    def clear(self) -> None:
        self._entries.clear()


class SeenKeys:
    """Notification keys this container already queued: a repeat audit of an unchanged problem stays quiet."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        # Added only after the request is on the queue, so a failed send is tried again on the retry.
        if len(self._keys) >= MAX_ENTRIES:
            self._keys.clear()
        self._keys.add(key)

    def clear(self) -> None:
        self._keys.clear()
