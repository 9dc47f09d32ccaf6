"""The accounts a hub governs (MEMBER_ACCOUNTS) and a session in each, through its member role.

Hub and spoke (docs/organization.md): the functions run in one account, the hub; every member account has a
role (member-role.yaml) that only the hub's function roles may assume. An account that cannot be reached is
that account's error, an `AccountAccessError` with AWS's code, and never stops the others.

An account's owner, shown on its line of the run's email, is its ACCOUNT_OWNERS entry; failing that, with
MEMBER_ACCOUNTS=organization, the address in its Organizations tag `groundskeeper:owner`; else none.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from groundskeeper.aws_clients import BOTO_CONFIG
from groundskeeper.errors import CodedError, TransientError, error_code, error_message, is_retryable
from groundskeeper.observability import logger
from groundskeeper_org.settings import MemberAccounts

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

# STS wants 2 to 64 characters; the name shows in the member account's CloudTrail as who acted.
SESSION_NAME = "groundskeeper-hub"
SESSION_SECONDS = 3600
# Credentials this close to expiry are renewed before use: a sweep started on them must not outlive them.
REFRESH_MARGIN = timedelta(minutes=10)
# AssumeRole answers AccessDenied both when the role is missing and when its trust policy does not name the
# caller (on purpose: a caller cannot probe which roles exist); either is the account's error, with that code.
UNREACHABLE = "AccountUnreachable"  # no AWS code: a network failure, or an answer that named no code
# What a member service answers when the assumed credentials expired mid-sweep: the role is assumed again.
EXPIRED_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException"})
# The one account state a run sweeps: not an account still being activated (its member role may not exist
# yet), suspended, or on its way out.
ACTIVE = "ACTIVE"
# The Organizations account tag that names an account's owner, read with MEMBER_ACCOUNTS=organization. Its
# value is written by whoever may tag the account, so it is checked before it reaches the run's email.
OWNER_TAG_KEY = "groundskeeper:owner"
MAX_ADDRESS_CHARS = 254  # the longest path SMTP carries (RFC 5321), so the longest usable address
# Display names, quoting and list separators: a value with one of them is never one bare address.
_NOT_IN_ADDRESS = frozenset("<>\"',;")
_SHOWN_CHARS = 80  # how much of a rejected value a log line repeats


class AccountAccessError(CodedError):
    """The hub could not act in one member account; `account_id` names it, `code` is AWS's."""

    def __init__(self, account_id: str, code: str, message: str) -> None:
        super().__init__(code, f"account {account_id}: {message}")
        self.account_id = account_id


class AccountBusyError(TransientError):
    """The account could not be reached for now (AssumeRole throttled, STS unavailable, the network): SQS
    delivers the work item again, as for any transient failure."""

    def __init__(self, account_id: str, code: str, message: str) -> None:
        super().__init__(code, f"account {account_id}: {message}")
        self.account_id = account_id


@dataclass(frozen=True)
class TagOwner:
    """What an owner tag's value amounts to: the address it names, or why it was ignored."""

    owner: str | None
    problem: str | None = None


def parse_owner_tag(value: str) -> TagOwner:
    """One plausible email address (surrounding whitespace stripped), or a TagOwner with the problem.

    Plausible, not verified: a single `@` between a local part and a dotted domain, at most 254 characters,
    no whitespace, none of `<>"',;` and no control or other non-printing character."""
    address = value.strip()
    local, _, domain = address.partition("@")
    problem: str | None = None
    if not address:
        problem = "empty"
    elif len(address) > MAX_ADDRESS_CHARS:
        problem = f"{len(address)} characters, at most {MAX_ADDRESS_CHARS}"
    elif any(c.isspace() for c in address):
        problem = "has whitespace inside"
    elif any(unicodedata.category(c).startswith("C") for c in address):
        problem = "has a control or non-printing character"
    elif any(c in _NOT_IN_ADDRESS for c in address):
        problem = "has one of < > \" ' , ;"
    elif address.count("@") != 1:
        problem = f"has {address.count('@')} '@', not one"
    elif not local or "." not in domain.strip("."):
        problem = "is not local@domain.tld"
    return TagOwner(None, problem) if problem else TagOwner(address)


def shown_value(value: str) -> str:
    """An outsider's value as a log line may repeat it: at most 80 characters, quoted and escaped."""
    return repr(value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "...")


def resolve_owner(
    account_id: str, configured: Mapping[str, str], read_tag: Callable[[str], str | None] | None
) -> str | None:
    """The account's owner: its ACCOUNT_OWNERS entry (the tag is then not read at all), else its owner tag
    when `read_tag` is given (MEMBER_ACCOUNTS=organization), else None."""
    if account_id in configured:
        return configured[account_id]
    return read_tag(account_id) if read_tag is not None else None


def read_owner_tag(organizations: Any, account_id: str) -> str | None:
    """The raw value of the account's owner tag, or None without one; raises botocore's errors.

    `organizations` is untyped, as for `list_member_accounts`."""
    for page in organizations.get_paginator("list_tags_for_resource").paginate(ResourceId=account_id):
        for tag in page.get("Tags", []):
            if tag.get("Key") == OWNER_TAG_KEY:
                return str(tag.get("Value", ""))
    return None


def owner_from_tag(organizations: Any, account_id: str) -> str | None:
    """The account's owner tag as an address, or None: without the tag, with a value that is not one
    plausible address, or when the tag cannot be read (each a warning). Never raises for AWS's errors: an
    owner is a label on the report, never a reason not to sweep the account."""
    try:
        value = read_owner_tag(organizations, account_id)
    except (ClientError, BotoCoreError) as exc:
        logger.warning(
            "account owner tag unreadable: the account is reported without an owner",
            extra={
                "account_id": account_id,
                "tag_key": OWNER_TAG_KEY,
                "error_code": error_code(exc) or type(exc).__name__,
                "error_message": error_message(exc)[:300],
            },
        )
        return None
    if value is None:
        return None
    parsed = parse_owner_tag(value)
    if parsed.problem is not None:
        logger.warning(
            "account owner tag ignored: not one plausible email address",
            extra={
                "account_id": account_id,
                "tag_key": OWNER_TAG_KEY,
                "reason": parsed.problem,
                "value": shown_value(value),
            },
        )
    return parsed.owner


def account_state(account: Mapping[str, Any]) -> str:
    """An Organizations account's `State` (ACTIVE, PENDING_ACTIVATION, SUSPENDED, PENDING_CLOSURE, CLOSED).
    Organizations retired `Status` on 2026-09-09; it is read only from an answer without `State`."""
    return str(account.get("State") or account.get("Status") or "")


def list_member_accounts(
    members: MemberAccounts, *, own_account: str, organizations: Any = None
) -> list[str]:
    """The accounts one run covers, sorted: the listed ones, the Organization's ACTIVE ones, or the hub's.

    `organizations` is untyped: the Lambda layer does not ship the Organizations stubs for one call."""
    if members.organization:
        if organizations is None:
            raise ValueError("MEMBER_ACCOUNTS=organization needs an Organizations client")
        found: list[str] = []
        for page in organizations.get_paginator("list_accounts").paginate():
            found.extend(a["Id"] for a in page.get("Accounts", []) if account_state(a) == ACTIVE)
        return sorted(set(found))
    return sorted(members.account_ids) if members.account_ids else [own_account]


class AccountSession:
    """Clients in one account, made once each (per service and region) with the project's shared Config."""

    def __init__(
        self,
        account_id: str,
        make_client: Callable[..., Any],
        credentials: Mapping[str, str] | None,
        expires_at: datetime | None,
    ) -> None:
        self.account_id = account_id
        self.expires_at = expires_at  # None: the hub's own credentials, renewed by the runtime
        self._make = make_client
        self._credentials = dict(credentials or {})
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None], Any] = {}

    def fresh(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at - now > REFRESH_MARGIN

    @overload
    def client(self, service: Literal["ec2"], region: str | None = None) -> EC2Client: ...
    @overload
    def client(self, service: Literal["s3"], region: str | None = None) -> S3Client: ...
    @overload
    def client(self, service: Literal["route53"], region: str | None = None) -> Route53Client: ...
    @overload
    def client(self, service: Literal["sts"], region: str | None = None) -> STSClient: ...
    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        found = self._clients.get(key)
        if found is not None:
            return found
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._make(service, region, self._credentials)
            return self._clients[key]


class AccountSessions:
    """One AccountSession per account per container: assumed once, renewed before its credentials expire.

    Every member client comes from one private boto3 session (service models loaded once, not per account),
    with the account's credentials passed explicitly; creation is serialised because boto3 sessions are
    not safe to create clients from concurrently. Accounts are assumed concurrently, each under its own lock.
    """

    def __init__(
        self,
        sts: STSClient,
        *,
        role_name: str,
        own_account: str | None,
        partition: str = "aws",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        boto_session: boto3.session.Session | None = None,
    ) -> None:
        self._sts = sts
        self._role_name = role_name
        self._own_account = own_account
        self._partition = partition
        self._clock = clock
        # Injectable, so a caller can hook every member client at once (the benchmark's round trip).
        self._boto = boto_session or boto3.session.Session()
        self._make_lock = threading.Lock()
        self._locks_lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._sessions: dict[str, AccountSession] = {}

    def role_arn(self, account_id: str) -> str:
        return f"arn:{self._partition}:iam::{account_id}:role/{self._role_name}"

    def get(self, account_id: str) -> AccountSession:
        """The account's session; raises AccountAccessError when its role cannot be assumed."""
        now = self._clock()
        found = self._sessions.get(account_id)
        if found is not None and found.fresh(now):
            return found
        with self._lock_for(account_id):
            found = self._sessions.get(account_id)
            if found is None or not found.fresh(now):
                found = self._open(account_id)
                self._sessions[account_id] = found
            return found

    def renew(self, account_id: str, stale: AccountSession) -> AccountSession:
        """A new session in the account, its role assumed again, when AWS has refused `stale`'s credentials
        as expired; a session another thread renewed meanwhile is used as it is."""
        with self._lock_for(account_id):
            found = self._sessions.get(account_id)
            if found is None or found is stale:
                found = self._open(account_id)
                self._sessions[account_id] = found
            return found

    def _lock_for(self, account_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(account_id, threading.Lock())

    def _open(self, account_id: str) -> AccountSession:
        # own_account=None (the hub's workers): even the caller's own account is reached through its role.
        if self._own_account is not None and account_id == self._own_account:
            return AccountSession(account_id, self._make_client, None, None)
        try:
            answer = self._sts.assume_role(
                RoleArn=self.role_arn(account_id),
                RoleSessionName=SESSION_NAME,
                DurationSeconds=SESSION_SECONDS,
            )
        except (ClientError, BotoCoreError) as exc:
            code = error_code(exc) or UNREACHABLE
            if is_retryable(exc):
                raise AccountBusyError(account_id, code, error_message(exc)) from exc
            raise AccountAccessError(account_id, code, error_message(exc)) from exc
        credentials = answer["Credentials"]
        keys = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        return AccountSession(account_id, self._make_client, keys, credentials["Expiration"])

    def _make_client(self, service: str, region: str | None, credentials: Mapping[str, str]) -> Any:
        with self._make_lock:
            make: Any = self._boto.client
            return make(service, region_name=region, config=BOTO_CONFIG, **credentials)


@dataclass(frozen=True)
class AccountAccess:
    """`accounts check`'s answer for one account: could the hub act there, and as whom."""

    account_id: str
    ok: bool
    code: str | None = None
    message: str | None = None
    arn: str | None = None


def check_access(sessions: AccountSessions, account_ids: Iterable[str]) -> list[AccountAccess]:
    """Assume each member role and ask STS who we are there: the caller must land in that very account."""
    results: list[AccountAccess] = []
    for account_id in account_ids:
        try:
            identity = sessions.get(account_id).client("sts").get_caller_identity()
        except (AccountAccessError, AccountBusyError) as exc:
            results.append(AccountAccess(account_id, False, exc.code, exc.message))
            continue
        except (ClientError, BotoCoreError) as exc:
            results.append(
                AccountAccess(account_id, False, error_code(exc) or UNREACHABLE, error_message(exc))
            )
            continue
        landed = str(identity.get("Account", ""))
        if landed != account_id:
            message = f"the role's credentials act in {landed}, not {account_id}"
            results.append(AccountAccess(account_id, False, "WrongAccount", message))
            continue
        results.append(AccountAccess(account_id, True, arn=str(identity.get("Arn", ""))))
    return results
