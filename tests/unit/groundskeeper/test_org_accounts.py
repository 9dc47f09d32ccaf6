"""Member sessions without AWS: what AssumeRole is asked, what each client is made with, one role assumed at a
time per account but accounts concurrently, and what `accounts check` answers for each account.

The fakes stand in for STS and for the boto3 session the member clients come from; a fake's `during` hook
runs inside the call, so a test can hold one caller there while another one acts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from groundskeeper.aws_clients import BOTO_CONFIG
from groundskeeper_org.accounts import (
    SESSION_NAME,
    SESSION_SECONDS,
    AccountAccess,
    AccountSession,
    AccountSessions,
    check_access,
    list_member_accounts,
)
from groundskeeper_org.settings import MemberAccounts

HUB, A, B = "123456789012", "111111111111", "222222222222"
ROLE = "GroundskeeperMember"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(seconds=SESSION_SECONDS)
# How long a test waits for another thread before it gives up: a bound on a hang, never a measurement.
PATIENCE = 10.0


def account_of(role_arn: str) -> str:
    return role_arn.split(":")[4]


class FakeSTS:
    """AssumeRole for any account, each call's parameters recorded; `during` runs inside the call."""

    def __init__(self, during: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.during = during
        self._lock = threading.Lock()

    def assume_role(self, **params: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(params)
            n = len(self.calls)
        if self.during is not None:
            self.during(params)
        account_id = account_of(params["RoleArn"])
        return {
            "Credentials": {
                "AccessKeyId": f"key-{account_id}-{n}",
                "SecretAccessKey": f"secret-{account_id}-{n}",
                "SessionToken": f"token-{account_id}-{n}",
                "Expiration": EXPIRES,
            }
        }


class FakeClient:
    """A member client: how it was made, and the caller identity its STS answers (or the error it raises)."""

    def __init__(
        self, made: dict[str, Any], identity: dict[str, str] | None, error: Exception | None
    ) -> None:
        self.made = made
        self._identity = identity
        self._error = error

    def get_caller_identity(self) -> dict[str, str]:
        if self._error is not None:
            raise self._error
        return dict(self._identity or {})


class FakeBoto:
    """The boto3 session member clients come from: each `client(...)` call recorded.

    `identities` maps an access key id to what that credential's STS answers; `errors` to what it raises."""

    def __init__(self) -> None:
        self.made: list[dict[str, Any]] = []
        self.identities: dict[str | None, dict[str, str]] = {}
        self.errors: dict[str | None, Exception] = {}

    def client(self, service: str, **kwargs: Any) -> FakeClient:
        made = {"service": service, **kwargs}
        self.made.append(made)
        key = kwargs.get("aws_access_key_id")
        return FakeClient(made, self.identities.get(key), self.errors.get(key))


def member_sessions(sts: FakeSTS, boto: FakeBoto | None = None, **kwargs: Any) -> AccountSessions:
    return AccountSessions(
        sts,  # type: ignore[arg-type]
        role_name=ROLE,
        own_account=kwargs.pop("own_account", HUB),
        clock=kwargs.pop("clock", lambda: NOW),
        boto_session=boto or FakeBoto(),  # type: ignore[arg-type]
        **kwargs,
    )


# --- AssumeRole and the clients --------------------------------------------------------------------------


def test_a_member_role_is_assumed_with_the_hubs_session_name_for_an_hour() -> None:
    sts = FakeSTS()
    session = member_sessions(sts).get(A)
    assert sts.calls == [
        {
            "RoleArn": f"arn:aws:iam::{A}:role/{ROLE}",
            "RoleSessionName": SESSION_NAME,
            "DurationSeconds": SESSION_SECONDS,
        }
    ]
    assert (session.account_id, session.expires_at) == (A, EXPIRES)


def test_the_role_arn_names_the_partition() -> None:
    sts = FakeSTS()
    member_sessions(sts, partition="aws-cn").get(A)
    assert [c["RoleArn"] for c in sts.calls] == [f"arn:aws-cn:iam::{A}:role/{ROLE}"]


def test_a_member_client_is_made_in_its_region_with_the_shared_config_and_the_roles_credentials() -> None:
    boto = FakeBoto()
    session = member_sessions(FakeSTS(), boto).get(A)
    client = session.client("ec2", "eu-west-1")
    assert boto.made == [
        {
            "service": "ec2",
            "region_name": "eu-west-1",
            "config": BOTO_CONFIG,
            "aws_access_key_id": f"key-{A}-1",
            "aws_secret_access_key": f"secret-{A}-1",
            "aws_session_token": f"token-{A}-1",
        }
    ]
    assert session.client("ec2", "eu-west-1") is client
    session.client("ec2", "us-east-1")
    session.client("ec2")
    assert [m["region_name"] for m in boto.made] == ["eu-west-1", "us-east-1", None]


def test_the_hubs_own_account_is_its_own_credentials_with_no_expiry() -> None:
    sts, boto = FakeSTS(), FakeBoto()
    session = member_sessions(sts, boto).get(HUB)
    session.client("s3")
    assert (session.account_id, session.expires_at, sts.calls) == (HUB, None, [])
    assert boto.made == [{"service": "s3", "region_name": None, "config": BOTO_CONFIG}]


# --- one role assumed at a time per account, accounts concurrently ---------------------------------------


def test_two_accounts_assume_their_roles_at_the_same_time() -> None:
    """Each account has its own lock: a slow AssumeRole in one account never holds up another's."""
    both_inside = threading.Barrier(2, timeout=PATIENCE)
    sessions = member_sessions(FakeSTS(during=lambda _: both_inside.wait()))
    with ThreadPoolExecutor(max_workers=2) as pool:
        opened = list(pool.map(sessions.get, [A, B]))  # one lock for all: the barrier breaks, and raises
    assert [s.account_id for s in opened] == [A, B]


SECOND_CALLER = "second-caller"


class _SignalledSessions(AccountSessions):
    """Tells when the thread named SECOND_CALLER has its account's lock in hand: it has looked for a session
    already, and waits for that lock or holds it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.at_lock = threading.Event()

    def _lock_for(self, account_id: str) -> threading.Lock:
        lock = super()._lock_for(account_id)
        if threading.current_thread().name == SECOND_CALLER:
            self.at_lock.set()
        return lock


def test_two_first_callers_in_one_account_assume_its_role_once() -> None:
    """The second caller, who found no session and waited for the account's lock, takes the session the
    first one opened meanwhile."""
    got: list[AccountSession] = []
    waited: list[bool] = []

    def second_caller() -> None:
        got.append(sessions.get(A))

    def during(_: dict[str, Any]) -> None:
        if len(sts.calls) == 1:  # the first caller, inside AssumeRole: the second one comes now
            thread = threading.Thread(target=second_caller, name=SECOND_CALLER)
            thread.start()
            waited.append(sessions.at_lock.wait(PATIENCE))
            threads.append(thread)

    sts = FakeSTS(during)
    threads: list[threading.Thread] = []
    sessions = _SignalledSessions(
        sts,  # type: ignore[arg-type]
        role_name=ROLE,
        own_account=HUB,
        clock=lambda: NOW,
        boto_session=FakeBoto(),  # type: ignore[arg-type]
    )
    first = sessions.get(A)
    for thread in threads:
        thread.join(PATIENCE)
    assert waited == [True]
    assert got == [first]
    assert len(sts.calls) == 1


def test_a_fresh_session_is_handed_out_while_another_caller_renews_it() -> None:
    """A renewal holds the account's lock while it assumes the role; a caller whose session is still fresh
    by the clock gets it at once, without waiting for that lock."""
    renewing, handed_out = threading.Event(), threading.Event()
    waited: list[bool] = []

    def during(_: dict[str, Any]) -> None:
        if len(sts.calls) == 2:  # the renewal
            renewing.set()
            waited.append(handed_out.wait(PATIENCE))

    sts = FakeSTS(during)
    sessions = member_sessions(sts)
    stale = sessions.get(A)
    with ThreadPoolExecutor(max_workers=1) as pool:
        renewed = pool.submit(sessions.renew, A, stale)
        assert renewing.wait(PATIENCE)
        during_renewal = sessions.get(A)
        handed_out.set()
        assert renewed.result(PATIENCE) is not stale
    assert during_renewal is stale
    assert waited == [True]


def test_a_session_another_caller_renewed_is_used_as_it_is() -> None:
    sts = FakeSTS()
    sessions = member_sessions(sts)
    stale = sessions.get(A)
    renewed = sessions.renew(A, stale)
    assert renewed is not stale
    assert renewed.client("sts").made["aws_access_key_id"] == f"key-{A}-2"
    # A second caller refused on the same stale credentials: the renewal already made is its answer.
    assert sessions.renew(A, stale) is renewed
    assert sessions.get(A) is renewed
    assert len(sts.calls) == 2


def test_a_made_client_is_handed_out_while_another_is_being_made() -> None:
    """Making a client can wait on the boto3 session's lock; a client already made never waits for it."""
    making, handed_out = threading.Event(), threading.Event()
    waited: list[bool] = []

    def make(service: str, region: str | None, credentials: dict[str, str]) -> tuple[str, str | None]:
        if service == "ec2":
            making.set()
            waited.append(handed_out.wait(PATIENCE))
        return service, region

    session = AccountSession(A, make, {"aws_access_key_id": "k"}, EXPIRES)
    sts = session.client("sts")
    with ThreadPoolExecutor(max_workers=1) as pool:
        ec2 = pool.submit(session.client, "ec2", "eu-west-1")
        assert making.wait(PATIENCE)
        assert session.client("sts") is sts
        handed_out.set()
        assert ec2.result(PATIENCE) == ("ec2", "eu-west-1")
    assert waited == [True]


# --- accounts check --------------------------------------------------------------------------------------


def test_check_access_names_the_account_the_credentials_landed_in() -> None:
    boto = FakeBoto()
    boto.identities[f"key-{A}-1"] = {"Account": A, "Arn": f"arn:aws:sts::{A}:assumed-role/{ROLE}/hub"}
    boto.identities[f"key-{B}-2"] = {"Account": HUB, "Arn": f"arn:aws:sts::{HUB}:assumed-role/{ROLE}/hub"}
    assert check_access(member_sessions(FakeSTS(), boto), [A, B]) == [
        AccountAccess(A, True, arn=f"arn:aws:sts::{A}:assumed-role/{ROLE}/hub"),
        AccountAccess(B, False, "WrongAccount", f"the role's credentials act in {HUB}, not {B}"),
    ]


def test_an_identity_without_an_account_is_the_wrong_account() -> None:
    boto = FakeBoto()
    boto.identities[f"key-{A}-1"] = {"Arn": f"arn:aws:sts::{A}:assumed-role/{ROLE}/hub"}
    assert check_access(member_sessions(FakeSTS(), boto), [A]) == [
        AccountAccess(A, False, "WrongAccount", f"the role's credentials act in , not {A}")
    ]


def test_check_access_reports_a_failing_identity_call_and_goes_on() -> None:
    boto = FakeBoto()
    boto.errors[f"key-{A}-1"] = ClientError(
        {"Error": {"Code": "InvalidClientTokenId", "Message": "token invalid"}}, "GetCallerIdentity"
    )
    boto.identities[f"key-{B}-2"] = {"Account": B}
    assert check_access(member_sessions(FakeSTS(), boto), [A, B]) == [
        AccountAccess(A, False, "InvalidClientTokenId", "token invalid"),
        AccountAccess(B, True, arn=""),
    ]


# --- the accounts a run covers ---------------------------------------------------------------------------


def test_organization_without_a_client_says_which_setting_needs_it() -> None:
    with pytest.raises(ValueError, match=r"^MEMBER_ACCOUNTS=organization needs an Organizations client$"):
        list_member_accounts(MemberAccounts(organization=True), own_account=HUB)
