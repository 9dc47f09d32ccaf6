"""WatchedBucketsAuditFunction's entry point: S3's `Object Created` events from EventBridge, for the buckets
the deploy watches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cors_auditor import warm_state
from cors_auditor.event_sources import targets_from_object_created
from groundskeeper.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from cors_auditor.report import AuditResult


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: LambdaContext) -> AuditResult:
    return warm_state.audit(targets_from_object_created(event))
