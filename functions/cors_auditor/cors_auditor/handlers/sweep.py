"""CorsSweepFunction's entry point: the sweep schedule (single account) audits every bucket of the account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cors_auditor import warm_state
from cors_auditor.event_sources import sweep_targets
from groundskeeper.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from cors_auditor.report import AuditResult


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: LambdaContext) -> AuditResult:
    # The schedule is this function's only trigger; its event's id keys the sweep's rewrites in the journal.
    return warm_state.audit(sweep_targets(event))
