"""The CORS sweep in one member account: the same run_audit over every bucket of that account, with its
S3 client, and its verdicts as the account's part of the run's report.

Its rewrites are journaled under the run and the account (`journal_scope`): a redelivered item, or a sweep
resumed on renewed credentials, reports a rewrite an earlier attempt made from its record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from cors_auditor.audit import run_audit
from cors_auditor.event_sources import Targets
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from groundskeeper.errors import error_code, error_message
from groundskeeper.observability import logger
from groundskeeper_org.accounts import (
    EXPIRED_CREDENTIALS,
    AccountAccessError,
    AccountSession,
    AccountSessions,
)
from groundskeeper_org.runs import AccountPart, error_part, ok_part

if TYPE_CHECKING:
    from cors_auditor.report import AuditResult
    from cors_auditor.settings import Settings
    from groundskeeper.action_journal import ScopedJournal

SOURCE = "org-sweep"


def _sweep(settings: Settings, session: AccountSession, journal: ScopedJournal | None) -> AuditResult:
    return run_audit(
        Targets(source=SOURCE, sweep=True, fresh=True),
        s3=session.client("s3"),
        settings=settings,
        # Per call: a verdict cached for one account must never answer for a same-named bucket elsewhere.
        cache=VerdictCache(),
        seen=SeenKeys(),
        sqs=None,  # the run's one email is sent when the last account's part is in
        journal=journal,
    )


def sweep_account_cors(
    settings: Settings,
    sessions: AccountSessions,
    account_id: str,
    *,
    owner: str | None = None,
    journal: ScopedJournal | None = None,
) -> AccountPart:
    """One account's sweep; an unassumable role or an unlistable account is this account's error part.

    Credentials that expire mid-sweep are renewed once (the role assumed again) and the sweep runs again:
    what it rewrote before is reported from the journal, not found compliant and forgotten."""
    try:
        session = sessions.get(account_id)
        try:
            result = _sweep(settings, session, journal)
        except ClientError as exc:
            if error_code(exc) not in EXPIRED_CREDENTIALS:
                raise
            logger.warning(
                "member credentials expired mid-sweep: the role is assumed again and the sweep resumed",
                extra={"account_id": account_id, "error_code": error_code(exc)},
            )
            result = _sweep(settings, sessions.renew(account_id, session), journal)
    except AccountAccessError as exc:
        return error_part(account_id, owner, exc.code, exc.message)
    except (ClientError, BotoCoreError) as exc:
        return error_part(account_id, owner, error_code(exc) or type(exc).__name__, error_message(exc))
    audited = result["audited"]
    bad = [entry for entry in audited if entry["status"] == "non_compliant"]
    unreadable = [entry for entry in audited if entry["status"] == "access_denied"]
    fixed = sum(bool(entry.get("remediated")) for entry in bad)
    summary = (
        f"{len(audited)} buckets, {len(bad)} non-compliant ({fixed} fixed), {len(unreadable)} unreadable"
    )
    if bad:
        summary += ": " + ", ".join(f"{entry['bucket']} ({entry['severity']})" for entry in bad[:10])
    return ok_part(account_id, owner, summary, len(bad) + len(unreadable), result)
