"""The action journal under moto: an intent is written once, its outcome after, a scope read whole."""

from __future__ import annotations

from datetime import UTC, datetime

from groundskeeper.action_journal import (
    ADDRESS_RELEASE,
    CORS_REWRITE,
    ActionJournal,
    ActionRecord,
    count_actions,
    scope_key,
)
from groundskeeper.aws_clients import client
from tests.integration.cors_auditor.conftest import JOURNAL_TABLE, create_journal_table

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def journal() -> ActionJournal:
    create_journal_table()
    return ActionJournal(client("dynamodb"), JOURNAL_TABLE, clock=lambda: NOW)


def test_an_intent_is_written_once_and_an_existing_one_is_returned_not_overwritten(aws: None) -> None:
    table = journal()
    before = {"configuration": {"CORSRules": [{"AllowedOrigins": ["*"], "MaxAgeSeconds": 600}]}}
    first, new = table.intend("cors-audit#s3#e1", CORS_REWRITE, "b", before=before, detail={"n": 1})
    assert new and first.status == "intended"
    again, new_again = table.intend(
        "cors-audit#s3#e1", CORS_REWRITE, "b", before={"other": 1}, detail={"n": 2}
    )
    assert not new_again
    assert again == first  # the before-state an earlier attempt wrote, exactly (ints stay ints)
    done = table.done(first)
    assert done.status == "done" and done.finished_at == NOW.isoformat(timespec="seconds")
    (read,) = table.records("cors-audit#s3#e1")
    assert read == done
    assert table.records("cors-audit#s3#e2") == []


def test_a_failure_keeps_aws_code_and_a_scope_reads_every_page(aws: None) -> None:
    table = journal()
    scope = scope_key("org-eip-janitor", "run-1", "111111111111")
    big = {"padding": "x" * 100_000}  # a few records per 1 MB page: the Query pages
    for n in range(25):
        record, _ = table.intend(scope, ADDRESS_RELEASE, f"eipalloc-{n:02d}", before=big)
        if n % 5 == 0:
            table.failed(record, "InvalidAddress.Locked")
        elif n % 5 != 1:
            table.done(record)
    records = table.records(scope)
    assert len(records) == 25
    assert {r.error for r in records if r.status == "failed"} == {"InvalidAddress.Locked"}
    (counts,) = count_actions(records)
    assert (counts.kind, counts.done, counts.failed, counts.intended) == (ADDRESS_RELEASE, 15, 5, 5)


def test_a_long_scope_is_hashed_behind_its_job() -> None:
    key = scope_key("cors-audit", "s3", "e" * 2000)
    assert key.startswith("cors-audit#sha256:") and len(key) < 100
    assert scope_key("cors-audit", "s3", "e" * 2000) == key
    assert isinstance(ActionRecord("s", "a", "k", "r", "done"), ActionRecord)
