"""CorsChangeAuditFunction's entry point: CloudTrail's PutBucketCors / DeleteBucketCors from EventBridge; the
bucket is audited fresh, since its configuration just changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cors_auditor import warm_state
from cors_auditor.event_sources import targets_from_cors_change
from groundskeeper.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from cors_auditor.report import AuditResult


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: LambdaContext) -> AuditResult:
    return warm_state.audit(targets_from_cors_change(event))
