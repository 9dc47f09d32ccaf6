"""The CORS sweep in one member account: the same run_audit over every bucket of that account, with its
S3 client, and its verdicts as the account's part of the run's report."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from cors_auditor.audit import run_audit
from cors_auditor.event_sources import Targets
from cors_auditor.settings import Settings
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from groundskeeper.errors import error_code, error_message
from groundskeeper_org.accounts import AccountAccessError, AccountSessions
from groundskeeper_org.runs import AccountPart, error_part, ok_part

SOURCE = "org-sweep"


def sweep_account_cors(
    settings: Settings, sessions: AccountSessions, account_id: str, *, owner: str | None = None
) -> AccountPart:
    """One account's sweep; an unassumable role or an unlistable account is this account's error part."""
    try:
        session = sessions.get(account_id)
        result = run_audit(
            Targets(source=SOURCE, sweep=True, fresh=True),
            s3=session.client("s3"),
            settings=settings,
            # Per call: a verdict cached for one account must never answer for a same-named bucket elsewhere.
            cache=VerdictCache(),
            seen=SeenKeys(),
            sqs=None,  # the run's one email is sent when the last account's part is in
        )
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
