"""The address releases of one run in the action journal: the intent (with what a recovery needs) before
ReleaseAddress, the outcome after, and what an earlier attempt of the same run released, so that a retry
which finds nothing left to do still reports it (docs/decisions/012-action-journal.md)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from eip_janitor.decisions import Decision, format_idle_tag, tags_of
from groundskeeper.action_journal import ADDRESS_RELEASE, ActionRecord, ScopedJournal, scope_key
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from collections.abc import Iterable

JOB = "eip-janitor"


def run_scope(run_id: str) -> str:
    """The single-account janitor's scope: `eip-janitor#<run id>`. Its role may reach only `eip-janitor#*`.
    A hub worker journals under the scope of its work item instead (groundskeeper_org.runs.journal_scope)."""
    return scope_key(JOB, run_id)


def before_state(region: str, address: Mapping[str, Any], decision: Decision) -> dict[str, Any]:
    """What a recovery needs, as the `eip_released` log line states it: the address, where, and its tags."""
    return {
        "public_ip": address.get("PublicIp"),
        "allocation_id": decision.allocation_id,
        "region": region,
        "network_border_group": address.get("NetworkBorderGroup") or region,
        "tags": tags_of(address),
        "idle_since": format_idle_tag(decision.idle_since) if decision.idle_since else None,
    }


class Releases:
    """A run's releases in the journal, read once (one Query) before any release; without a journal (a dry
    run, a deploy without the table) every method is a no-op and nothing is read."""

    def __init__(self, journal: ScopedJournal | None = None, earlier: Iterable[ActionRecord] = ()) -> None:
        self._journal = journal
        self._earlier = {r.resource: r for r in earlier if r.kind == ADDRESS_RELEASE}
        self._attempted: set[str] = set()
        self._lock = threading.Lock()  # regions release concurrently

    @classmethod
    def load(cls, journal: ScopedJournal | None) -> Releases:
        return cls(journal, journal.records() if journal is not None else ())

    def intend(
        self, region: str, address: Mapping[str, Any], decision: Decision
    ) -> tuple[ActionRecord | None, bool]:
        """Write the release down before it is made: (the record, whether an earlier attempt of this run had
        already written it); (None, False) without a journal. Raises what DynamoDB raises: an intent that
        could not be written is a release not made."""
        with self._lock:
            self._attempted.add(decision.allocation_id)
        if self._journal is None:
            return None, False
        record, new = self._journal.intend(
            ADDRESS_RELEASE, decision.allocation_id, before=before_state(region, address, decision)
        )
        return record, not new

    def done(self, record: ActionRecord | None) -> None:
        self._finish(record, None)

    def failed(self, record: ActionRecord | None, code: str) -> None:
        self._finish(record, code)

    def not_attempted(self) -> list[ActionRecord]:
        """What earlier attempts of this run wrote down, for the addresses this attempt did not touch."""
        with self._lock:
            return [r for a, r in sorted(self._earlier.items()) if a not in self._attempted]

    def _finish(self, record: ActionRecord | None, code: str | None) -> None:
        if self._journal is None or record is None:
            return
        try:
            if code is None:
                self._journal.done(record)
            else:
                self._journal.failed(record, code)
        except (ClientError, BotoCoreError) as exc:
            # The release's outcome is known and reported from memory; the record stays an intent, which a
            # retry confirms from EC2 (the address gone) or reports as unconfirmed.
            logger.warning(
                "journal_outcome_unwritten",
                extra={"action": record.action, "scope": record.scope, "error": str(exc)},
            )
