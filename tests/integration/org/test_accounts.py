"""The accounts module under moto: member listing, assumed sessions landing in their account, denials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from groundskeeper_org.accounts import AccountAccessError, AccountSessions, check_access, list_member_accounts
from groundskeeper_org.settings import MemberAccounts
from tests.integration.org.conftest import HUB, ROLE, deny_assume_role
from tests.integration.real_shapes import reshape


def test_a_session_lands_in_its_account(sessions: AccountSessions) -> None:
    session = sessions.get("111111111111")
    assert session.client("sts").get_caller_identity()["Account"] == "111111111111"
    session.client("s3").create_bucket(Bucket="in-member")
    assert [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]] == []


def test_the_hub_uses_its_own_credentials(sessions: AccountSessions, hub_sts: Any) -> None:
    calls: list[str] = []
    hub_sts.meta.events.register("before-call.sts.AssumeRole", lambda **_: calls.append("assume"))
    assert sessions.get(HUB).client("sts").get_caller_identity()["Account"] == HUB
    assert calls == []


def test_the_hubs_workers_reach_the_hub_through_its_member_role(hub_sts: Any) -> None:
    """The workers' sessions (HubSessions) have no own account: the hub, when it is a member, is reached
    through its member role like any other, so the workers' roles need no grant of their own there."""
    from groundskeeper_org.hub import HubSessions
    from groundskeeper_org.settings import OrgSettings
    from tests.lambda_context import FakeLambdaContext

    calls: list[str] = []
    hub_sts.meta.events.register(
        "before-call.sts.AssumeRole", lambda params, **_: calls.append(params["body"]["RoleArn"])
    )
    environ = {"MEMBER_ACCOUNTS": HUB, "ORG_RUNS_TABLE": "runs", "MEMBER_ROLE_NAME": ROLE}
    org = OrgSettings.from_env({**environ, "ORG_DEAD_LETTER_QUEUE_URL": "https://sqs.example/dlq"})
    sessions = HubSessions(org, lambda: hub_sts).get(FakeLambdaContext())  # type: ignore[arg-type]
    assert sessions.get(HUB).client("sts").get_caller_identity()["Account"] == HUB
    assert calls == [f"arn:aws:iam::{HUB}:role/{ROLE}"]


def test_a_session_is_assumed_once_then_renewed_near_expiry(hub_sts: Any) -> None:
    now = [datetime.now(UTC)]
    calls: list[str] = []
    hub_sts.meta.events.register("before-call.sts.AssumeRole", lambda **_: calls.append("assume"))
    sessions = AccountSessions(hub_sts, role_name=ROLE, own_account=HUB, clock=lambda: now[0])
    first = sessions.get("111111111111")
    assert sessions.get("111111111111") is first
    assert len(calls) == 1
    assert first.expires_at is not None
    now[0] = first.expires_at - timedelta(minutes=5)
    assert sessions.get("111111111111") is not first
    assert len(calls) == 2


def test_a_denied_role_is_that_accounts_error(sessions: AccountSessions, hub_sts: Any) -> None:
    deny_assume_role(hub_sts, "222222222222")
    with pytest.raises(AccountAccessError) as raised:
        sessions.get("222222222222")
    assert raised.value.code == "AccessDenied"
    assert raised.value.account_id == "222222222222"
    assert sessions.get("111111111111").client("sts").get_caller_identity()["Account"] == "111111111111"


def test_check_access_reports_each_account(sessions: AccountSessions, hub_sts: Any) -> None:
    deny_assume_role(hub_sts, "222222222222")
    results = check_access(sessions, ["111111111111", "222222222222", HUB])
    assert [(r.account_id, r.ok, r.code) for r in results] == [
        ("111111111111", True, None),
        ("222222222222", False, "AccessDenied"),
        (HUB, True, None),
    ]
    assert results[0].arn is not None
    assert f"assumed-role/{ROLE}/" in results[0].arn


def test_organization_lists_active_accounts_through_the_paginator(aws: None) -> None:
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    for n in range(3):
        organizations.create_account(AccountName=f"member-{n}", Email=f"m{n}@example.com")
    listed = list_member_accounts(
        MemberAccounts(organization=True), own_account=HUB, organizations=organizations
    )
    expected = sorted(a["Id"] for a in organizations.list_accounts()["Accounts"])
    assert listed == expected
    assert len(listed) == 4  # the management account and three members


@pytest.mark.parametrize("status", ["retired", "kept"])
def test_organization_lists_accounts_by_their_state(aws: None, status: str) -> None:
    """Organizations retired an account's `Status` on 2026-09-09 (moto still sends it): `State` says which
    accounts are ACTIVE, and holds states `Status` never had (PENDING_ACTIVATION, CLOSED)."""
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    for n in range(5):
        organizations.create_account(AccountName=f"member-{n}", Email=f"m{n}@example.com")
    members = sorted(a["Id"] for a in organizations.list_accounts()["Accounts"] if a["Id"] != HUB)
    states = dict(
        zip(members, ["ACTIVE", "SUSPENDED", "PENDING_ACTIVATION", "PENDING_CLOSURE", "CLOSED"], strict=True)
    )
    statuses = {"SUSPENDED": "SUSPENDED", "PENDING_CLOSURE": "PENDING_CLOSURE", "CLOSED": "SUSPENDED"}

    def as_aws_answers(parsed: dict[str, Any]) -> None:
        for account in parsed["Accounts"]:
            account["State"] = states.get(account["Id"], "ACTIVE")
            if status == "retired":
                del account["Status"]
            else:  # before the retirement: both, with Status's older values
                account["Status"] = statuses.get(account["State"], "ACTIVE")

    reshape(organizations, "ListAccounts", as_aws_answers)

    listed = list_member_accounts(
        MemberAccounts(organization=True), own_account=HUB, organizations=organizations
    )

    assert listed == sorted([HUB, members[0]])


def test_listed_and_own_account_only() -> None:
    assert list_member_accounts(MemberAccounts(("222222222222", "111111111111")), own_account=HUB) == [
        "111111111111",
        "222222222222",
    ]
    assert list_member_accounts(MemberAccounts(), own_account=HUB) == [HUB]
