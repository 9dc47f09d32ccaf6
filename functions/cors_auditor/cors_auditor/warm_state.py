"""What a warm single-account auditor keeps between invocations, made once per container: the settings read
at cold start, the verdict cache and the keys of the findings already sent; and the one audit call that
uses them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cors_auditor.audit import run_audit
from cors_auditor.settings import Settings
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from groundskeeper.action_journal import ActionJournal, ScopedJournal, scope_key
from groundskeeper.aws_clients import client

if TYPE_CHECKING:
    from cors_auditor.event_sources import Targets
    from cors_auditor.report import AuditResult

# Read at cold start: a bad value fails the init and names the variable.
SETTINGS = Settings.from_env()
# What makes a burst of uploads cost one GetBucketCors and one email.
VERDICTS = VerdictCache()
NOTIFIED = SeenKeys()
# The single-account auditor's scopes in the action journal: its role may write only under this prefix.
JOURNAL_PREFIX = "cors-audit"


def audit(targets: Targets) -> AuditResult:
    """Audit the targets with this container's settings, verdicts and sent keys (read at call time, so a
    test or a benchmark can swap them)."""
    sqs = client("sqs") if SETTINGS.notify.enabled else None
    return run_audit(
        targets,
        s3=client("s3"),
        settings=SETTINGS,
        cache=VERDICTS,
        seen=NOTIFIED,
        sqs=sqs,
        journal=journal_of(targets),
    )


def journal_of(targets: Targets) -> ScopedJournal | None:
    """The event's scope of the action journal: only rewrites are journaled, so only with remediation on."""
    if not (SETTINGS.remediate and SETTINGS.journal_table and targets.event_id):
        return None
    journal = ActionJournal(client("dynamodb"), SETTINGS.journal_table)
    return journal.scoped(scope_key(JOURNAL_PREFIX, targets.source, targets.event_id))
