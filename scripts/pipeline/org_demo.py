"""The demo's cross-account sweep: one hub-mode run per job over the member account, planned and worked
through the same org_hub entry points the handlers call, on the host.

Not through sam local: the demo's function containers run outside hub mode (no MEMBER_ACCOUNTS, no work
queues), and this step must not change what the rest of the demo shows. The flow runs this module as a child
process (`python -m scripts.pipeline.org_demo REQUEST_JSON OUT_PATH`) with the layer and the two functions
on its path and the moto server as AWS_ENDPOINT_URL, so the member sessions reach moto as the handlers'
clients do; it writes one OrgJobRun per job to OUT_PATH.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from cors_auditor.org_worker import sweep_account_cors
from cors_auditor.settings import Settings as AuditorSettings
from eip_janitor.org_worker import sweep_account_eips
from eip_janitor.run_ledger import RunLedger
from eip_janitor.settings import Settings as JanitorSettings
from groundskeeper import org_hub
from groundskeeper.accounts import AccountSessions, MemberAccounts, OrgSettings
from groundskeeper.aws_clients import client
from groundskeeper.notify import Notifier
from groundskeeper.org_run import AccountPart, RunParts, WorkItem
from scripts.pipeline.sqs_events import delete, receive_batches, sqs_event
from tests.lambda_context import FakeLambdaContext

Sweep = Callable[[WorkItem, str | None], AccountPart]


@dataclass(frozen=True)
class OrgDemoRequest:
    """What the flow asks for: the demo world's names, in JSON on the command line."""

    own_account: str
    member_accounts: list[str]
    runs_table: str
    work_queue_urls: dict[str, str]  # job -> its work queue
    email_queue_url: str
    notify_email: str
    allowed_origin: str
    idle_tag: str
    exempt_tag: str
    region: str


class OrgJobRun(TypedDict):
    """One job's run, as the demo prints it and the tests read it."""

    job: str
    run_id: str
    queued: int
    failed_items: int
    parts: list[AccountPart]


def run_job(request: OrgDemoRequest, job: str) -> OrgJobRun:
    """Plan the job's run (one work item per member account), then work its queue as the event source
    mapping would: each batch through org_hub.work, deleting what succeeded."""
    org = OrgSettings(
        members=MemberAccounts(account_ids=tuple(request.member_accounts)),
        runs_table=request.runs_table,
        work_queue_url=request.work_queue_urls[job],
    )
    notify = Notifier(queue_url=request.email_queue_url, recipients=(request.notify_email,))
    context = FakeLambdaContext(
        function_name=f"gk-demo-{job}",
        invoked_function_arn=f"arn:aws:lambda:{request.region}:{request.own_account}:function:gk-demo-{job}",
    )
    run_id = f"gk-demo-{job}"  # one run per job and per fresh world: moto is reset before each flow
    dynamodb, sqs = client("dynamodb"), client("sqs")
    planned = org_hub.plan(
        org,
        job,
        run_id,
        own_account=request.own_account,
        dynamodb=dynamodb,
        sqs=sqs,
        organizations=None,
        now=datetime.now(UTC),
    )
    sweep = _sweep(request, job, org, notify, org_hub.HubSessions(org, lambda: client("sts")).get(context))
    failed_items = 0
    for messages in receive_batches(sqs, org.work_queue_url, idle_polls=1):
        response = org_hub.work(
            sqs_event(messages, org.work_queue_url),
            context,
            job=job,
            org=org,
            sweep=sweep,
            dynamodb=dynamodb,
            notify=notify,
            sqs=sqs,
            now=lambda: datetime.now(UTC),
        )
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        failed_items += len(failed)
        delete(sqs, org.work_queue_url, [m for m in messages if m["MessageId"] not in failed])
    parts = RunParts(dynamodb, org.runs_table).parts(run_id)
    return {
        "job": job,
        "run_id": run_id,
        "queued": planned["queued"],
        "failed_items": failed_items,
        "parts": parts,
    }


def _sweep(
    request: OrgDemoRequest, job: str, org: OrgSettings, notify: Notifier, sessions: AccountSessions
) -> Sweep:
    """The job's one-account sweep, as its handler's `_work` builds it; the janitor is a dry run."""
    if job == "cors-sweep":
        auditor = AuditorSettings(allowed_origins=(request.allowed_origin,), notify=notify, org=org)
        return lambda item, owner: sweep_account_cors(auditor, sessions, item["account_id"], owner=owner)
    janitor = JanitorSettings(
        dry_run=True,
        idle_tag_key=request.idle_tag,
        exempt_tag_key=request.exempt_tag,
        regions=(request.region,),
        notify=notify,
        run_ledger_table=org.runs_table,
        org=org,
    )
    ledger = RunLedger(client("dynamodb"), org.runs_table)

    def sweep(item: WorkItem, owner: str | None) -> AccountPart:
        return sweep_account_eips(
            janitor,
            sessions,
            item["account_id"],
            run_id=item["run_id"],
            own_region=request.region,
            now=datetime.now(UTC),
            ledger=ledger,
            owner=owner,
        )

    return sweep


def main(argv: list[str]) -> int:
    request = OrgDemoRequest(**json.loads(argv[0]))
    runs: list[OrgJobRun] = [run_job(request, job) for job in request.work_queue_urls]
    Path(argv[1]).write_text(json.dumps(runs, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
