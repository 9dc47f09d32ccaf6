"""The demo's cross-account sweep, through SAM: the hub functions as `sam build` made them, served by
`sam local start-lambda` in hub mode (MEMBER_ACCOUNTS names the member account). The planner plans each
job's run from the event its schedule sends, then that job's worker sweeps the member account from its work
queue, one item per invocation as the template's event source mapping delivers them (BatchSize 1). The
janitor dry-runs there.

The hub functions run in a start-lambda session of their own: the rest of the demo shows the single-account
functions governing their own account.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from scripts.pipeline.local_lambda import REPO_ROOT, LocalLambda, start_lambda
from scripts.pipeline.moto_server import MotoServer
from scripts.pipeline.sqs_events import delete, receive_batches, sqs_event
from scripts.pipeline.world import HOME_REGION, MEMBER_ROLE, World

# The layers hold RunParts, which reads a run's parts back as the email's sender does.
for _layer in ("groundskeeper", "org"):
    if str(REPO_ROOT / "layers" / _layer) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / "layers" / _layer))

PLANNER = "OrgPlannerFunction"
# job -> (the worker that does it, its single-account function whose settings it shares, the planner's event)
HUB_FUNCTIONS = {
    "eip-janitor": ("EipOrgWorkerFunction", "EipJanitorFunction", "org-plan-eip-janitor.json"),
    "cors-sweep": ("CorsOrgWorkerFunction", "CorsAuditorFunction", "org-plan-cors-sweep.json"),
}


class OrgJobRun(TypedDict):
    """One job's run, as the demo prints it and the tests read it."""

    job: str
    run_id: str
    queued: int
    invocations: int  # the work queue's items, one invocation each
    failed_items: int
    parts: list[Any]  # groundskeeper_org.runs.AccountPart, as stored in the runs table


def hub_env(
    single_account: Mapping[str, Mapping[str, str]], moto: MotoServer, world: World
) -> dict[str, dict[str, str]]:
    """The --env-vars document in hub mode: each worker has its single-account function's settings, plus the
    member account, the runs table and the work DLQ; the planner has the member account, the runs table and
    each job's work queue. The janitor dry-runs, in the home region only."""
    from groundskeeper_org.settings import WORK_QUEUE_VARIABLES

    hub = {"MEMBER_ACCOUNTS": world.member_account, "ORG_RUNS_TABLE": world.idempotency_table}
    common = single_account["EipJanitorFunction"]
    env: dict[str, dict[str, str]] = {
        PLANNER: {
            "AWS_ENDPOINT_URL": common["AWS_ENDPOINT_URL"],
            "POWERTOOLS_LOG_LEVEL": common["POWERTOOLS_LOG_LEVEL"],
            **hub,
            **{
                WORK_QUEUE_VARIABLES[job]: moto.for_container(world.org_work_queue_urls[job])
                for job in HUB_FUNCTIONS
            },
        }
    }
    for worker, single, _ in HUB_FUNCTIONS.values():
        env[worker] = {
            **single_account[single],
            **hub,
            "MEMBER_ROLE_NAME": MEMBER_ROLE,
            "ORG_DEAD_LETTER_QUEUE_URL": moto.for_container(world.org_dead_letter_queue_url),
        }
    env["EipOrgWorkerFunction"].update({"DRY_RUN": "true", "JANITOR_REGIONS": HOME_REGION})
    return env


def run_job(lam: LocalLambda, moto: MotoServer, world: World, job: str) -> OrgJobRun:
    """The planner plans the run from the job's schedule event; then each work item is delivered to the
    job's worker as the mapping would, and what succeeded is deleted."""
    from groundskeeper_org.runs import RunParts

    worker, _, plan_event = HUB_FUNCTIONS[job]
    planned = lam.invoke(PLANNER, json.loads((REPO_ROOT / "events" / plan_event).read_text()))
    sqs, work_queue = moto.client("sqs"), world.org_work_queue_urls[job]
    invocations = failed_items = 0
    for messages in receive_batches(sqs, work_queue, batch_size=1, idle_polls=1):
        response = lam.invoke(worker, sqs_event(messages, work_queue))
        invocations += 1
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        failed_items += len(failed)
        delete(sqs, work_queue, [m for m in messages if m["MessageId"] not in failed])
    parts = RunParts(moto.client("dynamodb"), world.idempotency_table).parts(planned["run_id"])
    return {
        "job": job,
        "run_id": planned["run_id"],
        "queued": planned["queued"],
        "invocations": invocations,
        "failed_items": failed_items,
        "parts": list(parts),
    }


def run_org_sweeps(
    moto: MotoServer, world: World, single_account: Mapping[str, Mapping[str, str]], workdir: Path
) -> list[OrgJobRun]:
    """One run per job over the member account; each queues its one org-sweep-report email."""
    with start_lambda(hub_env(single_account, moto, world), workdir) as lam:
        return [run_job(lam, moto, world, job) for job in HUB_FUNCTIONS]
