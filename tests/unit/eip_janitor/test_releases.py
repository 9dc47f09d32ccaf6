"""The run's releases in the action journal: what is written before a release and after it, what an earlier
attempt wrote and this one did not touch, and that a journal which fails after the release only warns.
The journal here is a recording stand-in with ScopedJournal's methods; tests/integration/eip_janitor/
test_releases_reported.py runs the same code against the real journal table."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from eip_janitor.decisions import Action, Decision
from eip_janitor.releases import Releases, before_state, run_scope
from groundskeeper.action_journal import ADDRESS_RELEASE, ActionRecord, ScopedJournal
from tests.unit.eip_janitor.addresses import NOW, address

SCOPE = "eip-janitor#run-1"
DUE = Decision(Action.RELEASE, "eipalloc-a", "idle since ...", NOW)


def record(resource: str, status: str = "intended", kind: str = ADDRESS_RELEASE) -> ActionRecord:
    return ActionRecord(
        scope=SCOPE,
        action=f"{kind}#{resource}",
        kind=kind,
        resource=resource,
        status=status,  # type: ignore[arg-type]
    )


@dataclass
class Journal:
    """ScopedJournal's methods, recording each call; `written` holds the intents an earlier attempt wrote."""

    earlier: list[ActionRecord] = field(default_factory=list)
    written: set[str] = field(default_factory=set)
    fail_with: Exception | None = None
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def intend(self, kind: str, resource: str, *, before: dict[str, Any]) -> tuple[ActionRecord, bool]:
        self.calls.append(("intend", kind, resource, before))
        return replace(record(resource, kind=kind), before=before), resource not in self.written

    def done(self, entry: ActionRecord) -> ActionRecord:
        return self._finish("done", entry)

    def failed(self, entry: ActionRecord, code: str) -> ActionRecord:
        return self._finish("failed", entry, code)

    def records(self) -> list[ActionRecord]:
        self.calls.append(("records",))
        return list(self.earlier)

    def _finish(self, status: str, entry: ActionRecord, *code: str) -> ActionRecord:
        self.calls.append((status, entry, *code))
        if self.fail_with is not None:
            raise self.fail_with
        return entry


def releases(journal: Journal) -> Releases:
    return Releases.load(cast(ScopedJournal, journal))


def test_the_scope_of_a_single_account_run_is_the_job_and_the_run_id() -> None:
    assert run_scope("7bf73129-1428") == "eip-janitor#7bf73129-1428"


def test_the_before_state_is_what_a_recovery_needs() -> None:
    entry = address(
        "eipalloc-a", tags={"team": "web"}, PublicIp="198.51.100.7", NetworkBorderGroup="us-west-2-lax-1"
    )

    assert before_state("us-west-2", entry, DUE) == {
        "public_ip": "198.51.100.7",
        "allocation_id": "eipalloc-a",
        "region": "us-west-2",
        "network_border_group": "us-west-2-lax-1",
        "tags": {"team": "web"},
        "idle_since": "2026-11-22T06:00:00Z",
    }


def test_without_a_border_group_or_a_known_idle_time_the_before_state_says_the_region_and_none() -> None:
    entry = address("eipalloc-a", NetworkBorderGroup="")

    state = before_state("eu-west-1", entry, replace(DUE, idle_since=None))

    assert (state["network_border_group"], state["idle_since"], state["tags"]) == ("eu-west-1", None, {})


def test_without_a_journal_nothing_is_written_and_every_outcome_is_a_no_op() -> None:
    without = Releases.load(None)

    assert without.intend("us-east-1", address(), DUE) == (None, False)
    without.done(None)
    without.failed(None, "AuthFailure")
    assert without.not_attempted() == []


def test_the_intent_is_written_with_the_before_state_and_says_whether_an_earlier_attempt_wrote_it() -> None:
    journal = Journal(written={"eipalloc-b"})
    run = releases(journal)
    entry = address("eipalloc-a", tags={"team": "web"})

    written, earlier = run.intend("us-east-1", entry, DUE)
    _, again = run.intend("us-east-1", address("eipalloc-b"), replace(DUE, allocation_id="eipalloc-b"))

    assert (written.resource if written else None, earlier, again) == ("eipalloc-a", False, True)
    assert journal.calls[1] == (
        "intend",
        ADDRESS_RELEASE,
        "eipalloc-a",
        before_state("us-east-1", entry, DUE),
    )


def test_the_outcome_is_written_on_the_record() -> None:
    journal = Journal()
    run = releases(journal)
    first, second = record("eipalloc-a"), record("eipalloc-b")

    run.done(first)
    run.failed(second, "AuthFailure")
    run.done(None)

    assert journal.calls[1:] == [("done", first), ("failed", second, "AuthFailure")]


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem"),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/"),
    ],
)
@pytest.mark.parametrize("outcome", ["done", "failed"])
def test_an_outcome_the_journal_cannot_take_is_a_warning_not_a_failure(
    error: Exception, outcome: str, caplog: pytest.LogCaptureFixture
) -> None:
    run = releases(Journal(fail_with=error))
    entry = record("eipalloc-a")

    with caplog.at_level("WARNING"):
        if outcome == "done":
            run.done(entry)
        else:
            run.failed(entry, "AuthFailure")

    (line,) = [vars(r) for r in caplog.records if r.getMessage() == "journal_outcome_unwritten"]
    assert (line["action"], line["scope"], line["error"]) == (entry.action, SCOPE, str(error))


def test_what_earlier_attempts_wrote_is_read_once_and_returned_for_the_addresses_not_attempted() -> None:
    journal = Journal(
        earlier=[
            record("eipalloc-c", "done"),
            record("eipalloc-a", "failed"),
            record("eipalloc-b"),
            record("bucket-1", "done", kind="cors-rewrite"),
        ]
    )
    run = releases(journal)

    run.intend("us-east-1", address("eipalloc-b"), replace(DUE, allocation_id="eipalloc-b"))

    assert [(r.resource, r.status) for r in run.not_attempted()] == [
        ("eipalloc-a", "failed"),
        ("eipalloc-c", "done"),
    ]
    assert [call for call in journal.calls if call[0] == "records"] == [("records",)]


def test_an_address_attempted_without_a_journal_is_not_reported_as_earlier() -> None:
    run = Releases(None, [record("eipalloc-a", "done")])

    run.intend("us-east-1", address("eipalloc-a"), DUE)

    assert run.not_attempted() == []
