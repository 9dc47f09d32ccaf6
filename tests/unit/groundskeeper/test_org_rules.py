"""The pure parts of many-account runs: MEMBER_ACCOUNTS, owners, work items and the run's email data."""

from __future__ import annotations

import json

import pytest

from groundskeeper.action_journal import ActionCounts
from groundskeeper.errors import PermanentError, SettingsError
from groundskeeper_org.runs import (
    AccountPart,
    email_data,
    error_part,
    journaled_part,
    notification_key,
    parse_work_item,
)
from groundskeeper_org.settings import MemberAccounts, parse_owners, parse_role_name


def test_member_accounts_parse() -> None:
    assert MemberAccounts.parse("") == MemberAccounts()
    assert MemberAccounts.parse(" Organization ") == MemberAccounts(organization=True)
    assert MemberAccounts.parse("111111111111, 222222222222,111111111111").account_ids == (
        "111111111111",
        "222222222222",
    )


@pytest.mark.parametrize("raw", ["12345", "organization,111111111111", "11111111111a", "*"])
def test_member_accounts_refuses_anything_else(raw: str) -> None:
    with pytest.raises(SettingsError) as refused:
        MemberAccounts.parse(raw)
    assert refused.value.variable == "MEMBER_ACCOUNTS"


def test_owners_and_role_name() -> None:
    assert parse_owners("111111111111=a@example.com, 222222222222 = b@example.com") == {
        "111111111111": "a@example.com",
        "222222222222": "b@example.com",
    }
    assert parse_owners("") == {}
    for bad in ("111111111111", "111111111111=nobody", "1=a@example.com"):
        with pytest.raises(SettingsError):
            parse_owners(bad)
    assert parse_role_name(" GroundskeeperMember ") == "GroundskeeperMember"
    with pytest.raises(SettingsError):
        parse_role_name("role/with/slashes")


def test_work_items_parse_or_are_permanent_errors() -> None:
    item = {"run_id": "r", "job": "cors-sweep", "account_id": "111111111111"}
    assert parse_work_item(json.dumps(item)) == item
    for body in ("{", "[]", json.dumps({**item, "job": "other"}), json.dumps({"run_id": "r"})):
        with pytest.raises(PermanentError):
            parse_work_item(body)


@pytest.mark.parametrize(
    "change",
    [
        {"account_id": "1111"},
        {"account_id": "11111111111a"},
        {"account_id": "111111111111\n"},
        {"run_id": ""},
        {"run_id": "r" * 513},
        {"run_id": "run\u0000id"},
    ],
)
def test_a_hostile_account_or_run_id_is_a_bad_work_item(change: dict[str, str]) -> None:
    """Refused at the parser, so it is dead-lettered at once instead of reaching STS or DynamoDB."""
    item = {"run_id": "r", "job": "cors-sweep", "account_id": "111111111111", **change}
    with pytest.raises(PermanentError) as refused:
        parse_work_item(json.dumps(item))
    assert refused.value.code == "BadWorkItem"
    assert parse_work_item(json.dumps({**item, "run_id": "r" * 512, "account_id": "111111111111"}))


def _ok(account_id: str, findings: int, owner: str | None = None) -> AccountPart:
    return {
        "account_id": account_id,
        "owner": owner,
        "status": "ok",
        "error": None,
        "summary": f"{findings} found",
        "findings": findings,
        "detail": {},
    }


def test_email_data_lists_failed_accounts_first_then_findings_with_owners() -> None:
    parts = [
        _ok("111111111111", 0),
        _ok("222222222222", 2, "b@example.com"),
        error_part("333333333333", None, "AccessDenied", "no"),
    ]
    data = email_data("run-1", "eip-janitor", parts)
    assert (data["accounts"], data["failed_accounts"], data["findings"]) == ("3", "1", "3")
    assert data["summary"].splitlines() == [
        "333333333333: not swept: AccessDenied: no",
        "222222222222 (b@example.com): 2 found",
        "111111111111: 0 found",
    ]


@pytest.mark.parametrize(
    ("accounts", "last_line"),
    [
        (200, "000000000199: 1 found"),
        (201, "... and 1 more account (the run's report has them all)"),
        (202, "... and 2 more accounts (the run's report has them all)"),
    ],
)
def test_the_email_lists_200_accounts_then_says_how_many_more(accounts: int, last_line: str) -> None:
    data = email_data("run-1", "cors-sweep", [_ok(f"{n:012d}", 1) for n in range(accounts)])
    lines = data["summary"].splitlines()
    assert len(lines) == min(accounts, 201)
    assert lines[199] == "000000000199: 1 found"
    assert lines[-1] == last_line
    assert data["accounts"] == str(accounts)


def test_a_journaled_part_states_each_kind_of_action_and_counts_it_as_findings() -> None:
    part = journaled_part(
        _ok("111111111111", 1),
        [ActionCounts("cors-rewrite", done=2), ActionCounts("eip-release", done=1, failed=1, intended=1)],
    )
    assert part["summary"] == (
        "1 found; journal: cors-rewrite 2 done, eip-release 1 done, 1 failed, 1 unconfirmed"
    )
    assert part["findings"] == 5
    assert part["actions"] == {
        "cors-rewrite": {"done": 2, "failed": 0, "intended": 0},
        "eip-release": {"done": 1, "failed": 1, "intended": 1},
    }


def test_a_journaled_part_keeps_the_sweeps_own_findings_when_they_are_more() -> None:
    part = journaled_part(_ok("111111111111", 9), [ActionCounts("cors-rewrite", intended=1)])
    assert (part["summary"], part["findings"]) == ("9 found; journal: cors-rewrite 0 done, 1 unconfirmed", 9)
    assert journaled_part(part, []) is part


def test_an_error_parts_summary_is_cut_at_300_characters() -> None:
    part = error_part("111111111111", None, "AccessDenied", "m" * 400)
    assert part["summary"] == ("not swept: AccessDenied: " + "m" * 400)[:300]
    assert len(part["summary"]) == 300
    assert (part["status"], part["error"], part["findings"], part["detail"]) == (
        "error",
        "AccessDenied",
        1,
        {},
    )


def test_a_journaled_summary_is_cut_at_600_characters() -> None:
    part = journaled_part({**_ok("111111111111", 1), "summary": "s" * 590}, [ActionCounts("cors-rewrite", 1)])
    assert part["summary"] == "s" * 590 + "; journal:"


def test_notification_key_is_per_run_and_job_and_fits() -> None:
    assert notification_key("r1", "cors-sweep") == "org-run:cors-sweep:r1"
    assert len(notification_key("x" * 1000, "cors-sweep")) <= 256
