"""The janitor in one member account: the same run_janitor (regions, DNS guard, cap, dry run) with that
account's clients, its release cap claimed under its own key, and its report as the account's part."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from eip_janitor.janitor import run_janitor
from eip_janitor.report import AWS_FAILURES, failure_code
from eip_janitor.run_ledger import LedgerContended, RunLedger
from eip_janitor.settings import Settings
from groundskeeper.errors import error_message
from groundskeeper_org.accounts import AccountAccessError, AccountSessions
from groundskeeper_org.runs import AccountPart, error_part, ok_part

if TYPE_CHECKING:
    from groundskeeper.action_journal import ScopedJournal


def account_run_id(run_id: str, account_id: str) -> str:
    """The janitor's run id in one account: the ledger keys the release cap by it, so it is per account."""
    return f"{run_id}#{account_id}"


def sweep_account_eips(
    settings: Settings,
    sessions: AccountSessions,
    account_id: str,
    *,
    run_id: str,
    own_region: str,
    now: datetime,
    ledger: RunLedger | None,
    owner: str | None = None,
    journal: ScopedJournal | None = None,
) -> AccountPart:
    """One account's janitor run; a role that cannot be assumed, or a failure that stopped the whole run
    (the region listing, the ledger), is this account's error part, never an exception for the others."""
    try:
        session = sessions.get(account_id)
        report = run_janitor(
            settings,
            ec2_for=lambda region: session.client("ec2", region),
            sqs=None,  # the run's one email is sent when the last account's part is in
            own_region=own_region,
            now=now,
            run_id=account_run_id(run_id, account_id),
            route53=session.client("route53") if settings.dns_guard else None,
            ledger=ledger,
            account=account_id,  # the lease and the dry-run memory are per member account
            journal=journal,  # the releases of this run in this account (runs.journal_scope)
        )
    except AccountAccessError as exc:
        return error_part(account_id, owner, exc.code, exc.message)
    except (*AWS_FAILURES, LedgerContended) as exc:
        return error_part(account_id, owner, failure_code(exc), error_message(exc))
    if report["lease"]["status"] == "busy":
        lease = report["lease"]
        held = f"another run ({lease.get('holder')}) holds this account until {lease.get('until')}"
        return ok_part(account_id, owner, f"skipped: {held}", 0, report)
    verb = "would release" if report["dry_run"] else "released"
    done = report["would_release_count"] if report["dry_run"] else report["released_count"]
    summary = (
        f"{verb} {done}, marked {report['marked_count']}, deferred {report['deferred_count']}, "
        f"held back by DNS {report['dns_protected_count']}, errors {report['error_count']} "
        f"({len(report['regions'])} regions)"
    )
    findings = done + report["error_count"] + report["dns_protected_count"]
    return ok_part(account_id, owner, summary, findings, report)
