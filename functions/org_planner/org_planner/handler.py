"""OrgPlannerFunction's entry point (hub mode): a job's schedule plans its run. It lists the member accounts,
writes the run's header and queues one work item per account on that job's work queue.

Each schedule's target declares its job and passes the scheduled event's id and time through an input
transformer, `{"job": "eip-janitor", "id": <id>, "time": <time>}`: the job is never guessed from the event,
and the run id is the event's id, which EventBridge keeps when it delivers the same event again. So a
redelivered schedule is the same run: its header is written once, and each account's part counts once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from groundskeeper.aws_clients import client
from groundskeeper.errors import PermanentError
from groundskeeper.observability import logger, metrics
from groundskeeper_org import hub as org_hub
from groundskeeper_org.runs import JOBS, MAX_RUN_ID_CHARS
from groundskeeper_org.settings import OrgSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

BAD_PLAN_REQUEST = "BadPlanRequest"
# Read at cold start: a bad value (or a missing work queue) fails the init and names the variable.
ORG = OrgSettings.from_env(planner=True)


class PlanRequest(TypedDict):
    """The planner's event, as each schedule's input transformer writes it."""

    job: str  # which job's run: declared by the rule's target
    id: str  # the scheduled event's id: the run id
    time: NotRequired[str]  # the scheduled time, for the log line; a manual invoke may leave it out


def parse_plan_request(event: Any) -> PlanRequest:
    """The event as a PlanRequest, or PermanentError(BAD_PLAN_REQUEST) saying what is wrong with it."""
    if not isinstance(event, dict):
        kind = type(event).__name__
        raise PermanentError(BAD_PLAN_REQUEST, f'expected {{"job": ..., "id": ...}}, got a {kind}')
    job, run_id, time = event.get("job"), event.get("id"), event.get("time")
    if job not in JOBS:
        raise PermanentError(BAD_PLAN_REQUEST, f"job must be one of {', '.join(JOBS)}; got {job!r}")
    if not isinstance(run_id, str) or not 0 < len(run_id) <= MAX_RUN_ID_CHARS or not run_id.isprintable():
        raise PermanentError(
            BAD_PLAN_REQUEST, f"id must be a printable string of 1 to {MAX_RUN_ID_CHARS} characters"
        )
    request: PlanRequest = {"job": job, "id": run_id}
    if time is not None:
        if not isinstance(time, str):
            raise PermanentError(BAD_PLAN_REQUEST, "time, when given, must be a string")
        request["time"] = time
    return request


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: LambdaContext) -> org_hub.PlanReport:
    request = parse_plan_request(event)
    logger.append_keys(job=request["job"], run_id=request["id"], scheduled_time=request.get("time"))
    org = ORG
    return org_hub.plan(
        org,
        request["job"],
        request["id"],
        own_account=org_hub.own_account_of(context)[1],
        dynamodb=client("dynamodb"),
        sqs=client("sqs"),
        organizations=client("organizations") if org.members.organization else None,
        now=datetime.now(UTC),
    )
