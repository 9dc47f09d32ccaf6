"""Owners from the Organization's account tags under moto, through the planner and the auditor's worker:
ACCOUNT_OWNERS first, then a plausible `groundskeeper:owner` tag; a malformed tag, or one that cannot be
read, leaves the account without an owner and its sweep as it was."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from cors_auditor.handlers import org_work as auditor
from cors_auditor.settings import Settings as AuditSettings
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from groundskeeper_org.accounts import OWNER_TAG_KEY
from groundskeeper_org.runs import JOBS, RunParts
from groundskeeper_org.settings import MemberAccounts, OrgSettings
from org_planner import handler as planner
from tests.conftest import load_event
from tests.integration.org.conftest import ALLOWED, HUB, ROLE, TABLE, deny_list_tags, seed_member
from tests.integration.org.test_hub_handlers import BAD_CORS, batches, emails, use

SCHEDULE = "org-plan-cors-sweep.json"


@pytest.fixture
def queues(runs_table: Any) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    return {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("work", "email")}


def organization(*tags: str | None) -> list[str]:
    """An Organization (this account its management account) with one new member per entry, tagged with
    that owner value unless it is None; the members, each seeded with a good and a bad bucket."""
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    members = []
    for n, value in enumerate(tags):
        status = organizations.create_account(AccountName=f"member-{n}", Email=f"m{n}@example.com")
        account_id = status["CreateAccountStatus"]["AccountId"]
        if value is not None:
            organizations.tag_resource(ResourceId=account_id, Tags=[{"Key": OWNER_TAG_KEY, "Value": value}])
        seed_member(account_id, (), BAD_CORS)
        members.append(account_id)
    return members


def settings(queues: dict[str, str]) -> AuditSettings:
    return AuditSettings(
        allowed_origins=(ALLOWED,),
        notify=Notifier(queue_url=queues["email"], recipients=("ops@example.com",)),
    )


def org(queues: dict[str, str], owners: dict[str, str]) -> OrgSettings:
    return OrgSettings(
        members=MemberAccounts(organization=True),
        role_name=ROLE,
        owners=owners,
        runs_table=TABLE,
        work_queue_urls=dict.fromkeys(JOBS, queues["work"]),
    )


def run(queues: dict[str, str], lambda_context: Any) -> str:
    """Plan the sweep and work every item through the worker; the run's id."""
    planned = planner.lambda_handler(load_event(SCHEDULE), lambda_context)
    answers = [auditor.lambda_handler(event, lambda_context) for event in batches(queues["work"])]
    assert answers == [{"batchItemFailures": []}] * planned["queued"]
    return str(planned["run_id"])


def owners_in(summary: str) -> dict[str, str | None]:
    """Account id -> the owner its email line names (None: the line names none)."""
    found: dict[str, str | None] = {}
    for line in summary.splitlines():
        account_id, rest = line[:12], line[12:]
        found[account_id] = rest[2 : rest.index("): ")] if rest.startswith(" (") else None
    return found


def test_the_mapping_wins_then_a_plausible_tag_names_the_owner(
    queues: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good, malformed, both, untagged = organization(
        " team-good@example.com ", "Team Bad <bad@example.com>", "tag-both@example.com", None
    )
    use(auditor, settings(queues), org(queues, {both: "mapped-both@example.com"}), monkeypatch)

    with caplog.at_level("WARNING"):
        run_id = run(queues, lambda_context)

    expected = {
        good: "team-good@example.com",
        malformed: None,
        both: "mapped-both@example.com",
        untagged: None,
        HUB: None,  # the management account, listed with the others, untagged
    }
    [email] = emails(queues["email"])
    assert (email["data"]["accounts"], email["data"]["failed_accounts"]) == ("5", "0")
    assert owners_in(email["data"]["summary"]) == expected
    parts = RunParts(client("dynamodb"), TABLE).parts(run_id)
    assert {p["account_id"]: p["owner"] for p in parts} == expected
    assert all(p["status"] == "ok" for p in parts)
    ignored = [r for r in caplog.records if r.getMessage().startswith("account owner tag ignored")]
    assert [(vars(r)["account_id"], vars(r)["reason"]) for r in ignored] == [
        (malformed, "has whitespace inside")
    ]
    assert vars(ignored[0])["value"] == repr("Team Bad <bad@example.com>")


def test_an_unreadable_tag_leaves_the_account_swept_without_an_owner(
    queues: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    denied, readable = organization("denied@example.com", "readable@example.com")
    use(auditor, settings(queues), org(queues, {}), monkeypatch)
    # The handler's own cached client: the planner lists accounts with it, the workers read tags with it.
    deny_list_tags(client("organizations"), denied)

    with caplog.at_level("WARNING"):
        run_id = run(queues, lambda_context)

    parts = {p["account_id"]: p for p in RunParts(client("dynamodb"), TABLE).parts(run_id)}
    assert (parts[denied]["status"], parts[denied]["owner"], parts[denied]["findings"]) == ("ok", None, 1)
    assert parts[denied]["summary"].startswith("2 buckets, 1 non-compliant")
    assert parts[readable]["owner"] == "readable@example.com"
    [unreadable] = [r for r in caplog.records if r.getMessage().startswith("account owner tag unreadable")]
    assert (vars(unreadable)["account_id"], vars(unreadable)["error_code"]) == (
        denied,
        "AccessDeniedException",
    )
    [email] = emails(queues["email"])
    assert owners_in(email["data"]["summary"])[denied] is None
