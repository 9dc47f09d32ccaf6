"""Hub mode's settings (MEMBER_ACCOUNTS and its companions), read once at cold start by the hub's functions.

Off (MEMBER_ACCOUNTS empty): a function governs its own account; on: a schedule plans a run, one work item
per member account, and the work queue's items sweep them (docs/organization.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from groundskeeper.action_journal import ACTION_JOURNAL_TABLE
from groundskeeper.errors import SettingsError
from groundskeeper.settings import Setting, env_str

ORGANIZATION = "organization"
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")

MEMBER_ACCOUNTS = Setting(
    "MEMBER_ACCOUNTS",
    "",
    "hub mode: comma-separated member account ids, or `organization` for every ACTIVE account of the "
    "Organization, listed at each run; empty = this account only ([organization.md](organization.md))",
    parameter="MemberAccounts",
)
MEMBER_ROLE_NAME = Setting(
    "MEMBER_ROLE_NAME",
    "GroundskeeperMember",  # templates/member-role.yaml's default
    "the role `templates/member-role.yaml` creates in every member account (its `MemberRoleName`)",
    parameter="MemberRoleName",
)
ACCOUNT_OWNERS = Setting(
    "ACCOUNT_OWNERS",
    "",
    "hub mode: an owner per account, shown on that account's line of the run's email, as "
    "`111111111111=team@example.com,...`; with `organization`, an account without an entry takes the "
    "address in its `groundskeeper:owner` account tag",
    parameter="AccountOwners",
)
ORG_RUNS_TABLE = Setting(
    "ORG_RUNS_TABLE",
    "",
    "hub mode: where a run's header and parts live (the stack's IdempotencyTable, keys `org-run#...`); "
    "required when MEMBER_ACCOUNTS is set",
)
JANITOR_WORK_QUEUE_URL = Setting(
    "JANITOR_WORK_QUEUE_URL",
    "",
    "hub mode, the planner: where it puts one EIP janitor work item per account; required when "
    "MEMBER_ACCOUNTS is set",
)
CORS_SWEEP_WORK_QUEUE_URL = Setting(
    "CORS_SWEEP_WORK_QUEUE_URL",
    "",
    "hub mode, the planner: where it puts one CORS sweep work item per account; required when "
    "MEMBER_ACCOUNTS is set",
)
ORG_DEAD_LETTER_QUEUE_URL = Setting(
    "ORG_DEAD_LETTER_QUEUE_URL",
    "",
    "hub mode: where a work item that cannot succeed goes at once, with its reason (the stack's "
    "OrgWorkDeadLetterQueue); required when MEMBER_ACCOUNTS is set",
)
ORG_MAX_RECEIVE_COUNT = Setting(
    "ORG_MAX_RECEIVE_COUNT",
    3,
    "hub mode: the work queues' `maxReceiveCount`; on that receive a failing item is dead-lettered with its "
    "reason",
    minimum=1,
    maximum=1000,
)
SPECS = (
    MEMBER_ACCOUNTS,
    MEMBER_ROLE_NAME,
    ACCOUNT_OWNERS,
    ORG_RUNS_TABLE,
    JANITOR_WORK_QUEUE_URL,
    CORS_SWEEP_WORK_QUEUE_URL,
    ORG_DEAD_LETTER_QUEUE_URL,
    ORG_MAX_RECEIVE_COUNT,
)
DEFAULT_ROLE_NAME = MEMBER_ROLE_NAME.default
# Each job's work queue, as the planner reads it: one queue per job (runs.JOBS).
WORK_QUEUE_SETTINGS = {"eip-janitor": JANITOR_WORK_QUEUE_URL, "cors-sweep": CORS_SWEEP_WORK_QUEUE_URL}
WORK_QUEUE_VARIABLES = {job: spec.env for job, spec in WORK_QUEUE_SETTINGS.items()}


@dataclass(frozen=True)
class MemberAccounts:
    """MEMBER_ACCOUNTS: empty = the hub's own account only; account ids; or `organization` (ListAccounts)."""

    account_ids: tuple[str, ...] = ()
    organization: bool = False

    @classmethod
    def parse(cls, raw: str, variable: str = MEMBER_ACCOUNTS.env) -> MemberAccounts:
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        if [part.lower() for part in parts] == [ORGANIZATION]:
            return cls(organization=True)
        for part in parts:
            if not _ACCOUNT_ID.match(part):
                raise SettingsError(variable, f"'organization', or 12-digit account ids; got {part!r}")
        return cls(account_ids=tuple(dict.fromkeys(parts)))


def parse_role_name(raw: str, variable: str = MEMBER_ROLE_NAME.env) -> str:
    name = raw.strip()
    if not _ROLE_NAME.match(name):
        raise SettingsError(variable, f"is not an IAM role name: {raw!r}")
    return name


def parse_owners(raw: str, variable: str = ACCOUNT_OWNERS.env) -> dict[str, str]:
    """`111111111111=ops@example.com,222222222222=team@example.com` -> account id -> owner address."""
    owners: dict[str, str] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        account_id, sep, owner = (s.strip() for s in part.partition("="))
        if not sep or not _ACCOUNT_ID.match(account_id) or "@" not in owner:
            raise SettingsError(variable, f"pairs like 111111111111=owner@example.com; got {part!r}")
        owners[account_id] = owner
    return owners


@dataclass(frozen=True)
class OrgSettings:
    """The hub functions' settings, read at cold start: the planner's (planner=True) and the workers'. Off
    (MEMBER_ACCOUNTS empty): there is no hub; the single-account functions never read these."""

    members: MemberAccounts = field(default_factory=MemberAccounts)
    role_name: str = MEMBER_ROLE_NAME.default
    owners: Mapping[str, str] = field(default_factory=dict)
    runs_table: str = ORG_RUNS_TABLE.default
    # The planner's: job -> the queue it puts one item per account on. A worker needs none: its event
    # source mapping reads its queue.
    work_queue_urls: Mapping[str, str] = field(default_factory=dict)
    # Where an item that cannot succeed goes at once, with its reason; on the work queues' maxReceiveCount
    # any failure goes there too.
    dead_letter_queue_url: str = ORG_DEAD_LETTER_QUEUE_URL.default
    max_receive_count: int = ORG_MAX_RECEIVE_COUNT.default
    # Where each account's actions are journaled; a part counts them. "" = parts count what the sweep saw.
    journal_table: str = ACTION_JOURNAL_TABLE.default

    @property
    def enabled(self) -> bool:
        return bool(self.members.organization or self.members.account_ids)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, *, planner: bool = False) -> OrgSettings:
        """With MEMBER_ACCOUNTS set, the planner needs every job's work queue, a worker the work DLQ."""
        members = MemberAccounts.parse(MEMBER_ACCOUNTS.read(environ))
        on = bool(members.organization or members.account_ids)

        def needed_on(spec: Setting[str], needed: bool = True) -> str:
            return env_str(spec.env, spec.default, required=on and needed, environ=environ)

        queues = {job: needed_on(spec) for job, spec in WORK_QUEUE_SETTINGS.items()} if planner else {}
        return cls(
            members=members,
            role_name=parse_role_name(MEMBER_ROLE_NAME.read(environ)),
            owners=parse_owners(ACCOUNT_OWNERS.read(environ)),
            runs_table=needed_on(ORG_RUNS_TABLE),
            work_queue_urls=queues,
            dead_letter_queue_url=needed_on(ORG_DEAD_LETTER_QUEUE_URL, not planner),
            max_receive_count=ORG_MAX_RECEIVE_COUNT.read(environ),
            journal_table=ACTION_JOURNAL_TABLE.read(environ),
        )
