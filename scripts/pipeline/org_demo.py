"""The demo's cross-account sweep, through SAM: the janitor and the auditor as `sam build` made them,
served by `sam local start-lambda` in hub mode (MEMBER_ACCOUNTS names the member account). Each function
plans its run from its own schedule event, then sweeps the member account from its work queue, one item per
invocation as the template's event source mapping delivers them (BatchSize 1). The janitor dry-runs there.

The hub-mode functions run in a start-lambda session of their own: the rest of the demo shows the same
functions governing their own account, with the environment of a single-account deploy.
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

# The layer holds RunParts, which reads a run's parts back as the email's sender does.
if str(REPO_ROOT / "layers" / "groundskeeper") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "layers" / "groundskeeper"))

# job -> (the function that does it, the schedule event that starts its run)
HUB_FUNCTIONS = {
    "eip-janitor": ("EipJanitorFunction", "schedule-eip-janitor.json"),
    "cors-sweep": ("CorsAuditorFunction", "schedule-cors-sweep.json"),
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
    """The --env-vars document in hub mode: the demo's own settings, plus the member account, the runs table,
    each job's work queue and their dead-letter queue; the janitor dry-runs, in the home region only."""
    env = {name: dict(values) for name, values in single_account.items()}
    for job, (function, _) in HUB_FUNCTIONS.items():
        env[function].update(
            {
                "MEMBER_ACCOUNTS": world.member_account,
                "MEMBER_ROLE_NAME": MEMBER_ROLE,
                "ORG_RUNS_TABLE": world.idempotency_table,
                "ORG_WORK_QUEUE_URL": moto.for_container(world.org_work_queue_urls[job]),
                "ORG_DEAD_LETTER_QUEUE_URL": moto.for_container(world.org_dead_letter_queue_url),
            }
        )
    env["EipJanitorFunction"].update({"DRY_RUN": "true", "JANITOR_REGIONS": HOME_REGION})
    return env


def run_job(lam: LocalLambda, moto: MotoServer, world: World, job: str) -> OrgJobRun:
    """The schedule's invocation plans the run; then each work item is delivered as the mapping would,
    and what succeeded is deleted."""
    from groundskeeper_org.runs import RunParts

    function, schedule = HUB_FUNCTIONS[job]
    planned = lam.invoke(function, json.loads((REPO_ROOT / "events" / schedule).read_text()))
    sqs, work_queue = moto.client("sqs"), world.org_work_queue_urls[job]
    invocations = failed_items = 0
    for messages in receive_batches(sqs, work_queue, batch_size=1, idle_polls=1):
        response = lam.invoke(function, sqs_event(messages, work_queue))
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
