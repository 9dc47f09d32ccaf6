"""The CORS rewrites of one run or event, in the action journal: the intent (with the configuration a restore
puts back) before PutBucketCors, the outcome after, and what an earlier attempt of the same run did."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from groundskeeper.action_journal import CORS_REWRITE, ActionRecord, ScopedJournal

if TYPE_CHECKING:
    from collections.abc import Mapping


class Rewrites:
    """A scope's rewrites, read once per invocation (one Query) before any bucket is audited; without a
    journal every method is a no-op, as the CLI and a deploy without the table run."""

    def __init__(
        self, journal: ScopedJournal | None = None, earlier: list[ActionRecord] | None = None
    ) -> None:
        self._journal = journal
        self._earlier: dict[str, ActionRecord] = {}
        # Latest intent last: a bucket rewritten twice in one scope (its configuration changed back in
        # between) reports the latest.
        for record in sorted(earlier or [], key=lambda r: r.intended_at):
            if record.kind == CORS_REWRITE:
                self._earlier[record.resource] = record

    @classmethod
    def load(cls, journal: ScopedJournal | None) -> Rewrites:
        return cls(journal, journal.records() if journal is not None else [])

    @property
    def journaled(self) -> bool:
        return self._journal is not None

    def buckets(self) -> list[str]:
        """The buckets an earlier attempt of this scope meant to rewrite."""
        return list(self._earlier)

    def earlier(self, bucket: str) -> ActionRecord | None:
        return self._earlier.get(bucket)

    def intend(
        self, bucket: str, previous: Mapping[str, Any], config_hash: str, detail: Mapping[str, Any]
    ) -> tuple[ActionRecord | None, bool]:
        """(the record, whether this attempt wrote it); (None, True) without a journal. The action is keyed by
        the configuration it replaces, so a bucket changed back within the scope is a new action."""
        if self._journal is None:
            return None, True
        return self._journal.intend(
            CORS_REWRITE,
            bucket,
            before={"configuration": dict(previous)},
            detail=detail,
            variant=config_hash[:16],
        )

    def done(self, record: ActionRecord | None) -> None:
        if self._journal is not None and record is not None:
            self._journal.done(record)

    def failed(self, record: ActionRecord | None, code: str) -> None:
        if self._journal is not None and record is not None:
            self._journal.failed(record, code)
