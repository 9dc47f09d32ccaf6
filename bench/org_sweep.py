"""Benchmark of the org sweep: ACCOUNTS member accounts x 4 regions on in-process moto, each with idle and
in-use addresses and a good and a bad bucket, through the real fan-out (plan_run -> the work queue ->
process_work_item, MAX_CONCURRENCY at a time like the event source mapping's MaximumConcurrency), against
one account through the same path; every call pays a simulated round trip. One account's role is denied:
its part is an error and every other account's part must equal the baseline account's.

Run: python -m bench.org_sweep   (ORG_ACCOUNTS=<n> for a smaller run).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bench.harness import RTT, environment, instrument, row

ACCOUNTS = int(os.environ.get("ORG_ACCOUNTS", "100"))
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
MAX_CONCURRENCY = 100  # the work queue mapping's ScalingConfig.MaximumConcurrency in the template
ROLE = "GroundskeeperMember"
HUB = "123456789012"  # moto's default account
BASELINE = "100000000000"
DENIED = "100000000001"
TABLE = "org-runs"
BAD_CORS = {"CORSRules": [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["*"]}]}
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


class Hub:
    """The hub's clients and a session factory whose every client pays the round trip and is counted."""

    def __init__(self, delay: float) -> None:
        import boto3

        from groundskeeper.accounts import AccountSessions
        from groundskeeper.org_run import RunParts
        from tests.integration.org.conftest import deny_assume_role

        self.calls: Counter[str] = Counter()
        lock = threading.Lock()

        def count(model: Any, **_: Any) -> None:
            with lock:
                self.calls[model.name] += 1

        members = boto3.session.Session()
        members.events.register("before-call", count)
        members.events.register("before-send", lambda **_: time.sleep(delay))
        self.sts = boto3.client("sts")
        self.sqs = boto3.client("sqs")
        self.dynamodb = boto3.client("dynamodb")
        for hub_client in (self.sts, self.sqs, self.dynamodb):
            instrument(hub_client, self.calls, delay)
        deny_assume_role(self.sts, DENIED)
        self.sessions = AccountSessions(self.sts, role_name=ROLE, own_account=HUB, boto_session=members)
        self.parts = RunParts(self.dynamodb, TABLE)


def org_run(hub: Hub, job: str, accounts: list[str], *, run_id: str, queues: tuple[str, str]) -> Any:
    """plan_run, then the queue's items consumed MAX_CONCURRENCY at a time: (seconds, parts, emails)."""
    work_url, email_url = queues
    from cors_auditor.org_worker import sweep_account_cors
    from cors_auditor.settings import Settings as AuditSettings
    from eip_janitor.org_worker import sweep_account_eips
    from eip_janitor.run_ledger import RunLedger
    from eip_janitor.settings import Settings as JanitorSettings
    from groundskeeper.notify import Notifier
    from groundskeeper.org_run import (
        AccountPart,
        notification_key,
        parse_work_item,
        plan_run,
        process_work_item,
    )
    from tests.integration.org.conftest import ALLOWED

    now = datetime.now(UTC)
    ledger = RunLedger(hub.dynamodb, TABLE)
    janitor = JanitorSettings(dry_run=False, regions=REGIONS, max_releases_per_run=10)
    auditor = AuditSettings(allowed_origins=(ALLOWED,))
    sweeps: dict[str, Callable[[str], AccountPart]] = {
        "eip-janitor": lambda a: sweep_account_eips(
            janitor, hub.sessions, a, run_id=run_id, own_region="us-east-1", now=now, ledger=ledger
        ),
        "cors-sweep": lambda a: sweep_account_cors(auditor, hub.sessions, a),
    }
    notify = Notifier(queue_url=email_url, recipients=("ops@example.com",))
    started = time.perf_counter()
    plan_run(run_id, job, accounts, hub.parts, sqs=hub.sqs, queue_url=work_url, now=now)
    items = []
    while batch := hub.sqs.receive_message(QueueUrl=work_url, MaxNumberOfMessages=10).get("Messages", []):
        items.extend(parse_work_item(m["Body"]) for m in batch)
        hub.sqs.delete_message_batch(
            QueueUrl=work_url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)],
        )
    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENCY, len(items))) as pool:
        done = list(
            pool.map(
                lambda item: process_work_item(
                    item, sweeps[item["job"]], hub.parts, notify=notify, sqs=hub.sqs, now=now
                ),
                items,
            )
        )
    seconds = time.perf_counter() - started
    emails = []
    while batch := hub.sqs.receive_message(QueueUrl=email_url, MaxNumberOfMessages=10).get("Messages", []):
        emails.extend(json.loads(m["Body"]) for m in batch)
        hub.sqs.delete_message_batch(
            QueueUrl=email_url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)],
        )
    key = notification_key(run_id, job)
    ours = [e for e in emails if e.get("idempotency_key") == key]
    return seconds, {part["account_id"]: part for part, _ in done}, ours


def _comparable(part: Any) -> Any:
    return json.dumps(
        {k: v for k, v in part.items() if k not in ("account_id", "detail")}, sort_keys=True
    ).replace(part["account_id"], "<account>")


def run() -> list[dict[str, Any]]:
    with environment(ENV):
        import boto3
        import moto

        from groundskeeper.aws_clients import reset_clients
        from groundskeeper.observability import metrics
        from tests.integration.org.conftest import moto_dynamodb_serialised, seed_member

        reset_clients()
        # One process sweeps 100 accounts, where Lambda would flush each invocation's metrics: Powertools
        # flushes every 100 metrics, which needs a namespace; the flushed lines are not the bench's output.
        saved_namespace, metrics.namespace = metrics.namespace, "GroundskeeperBench"
        with moto.mock_aws(), moto_dynamodb_serialised(), contextlib.redirect_stdout(io.StringIO()):
            members = [f"{200000000000 + n}" for n in range(ACCOUNTS - 1)] + [DENIED]
            print(
                f"  seeding {ACCOUNTS + 1} accounts x {len(REGIONS)} regions ...", file=sys.stderr, flush=True
            )
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda a: seed_member(a, REGIONS, BAD_CORS), [BASELINE, *members]))
            boto3.client("dynamodb").create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            sqs = boto3.client("sqs")
            work = sqs.create_queue(QueueName="org-work")["QueueUrl"]
            email = sqs.create_queue(QueueName="email")["QueueUrl"]
            queues = (work, email)
            rows: list[dict[str, Any]] = []
            # The CORS sweep (remediation off) changes nothing, so it also runs without the round trip:
            # what the fan-out hides is the waiting, what remains is in-process moto's CPU (one GIL here,
            # one CPU per worker on Lambda).
            one0, _, _ = org_run(Hub(0.0), "cors-sweep", [BASELINE], run_id="bare-one", queues=queues)
            org0, _, _ = org_run(Hub(0.0), "cors-sweep", members, run_id="bare-org", queues=queues)
            bare = {"one": one0, "org": org0}
            for job, label in (("eip-janitor", "EIP janitor"), ("cors-sweep", "CORS sweep")):
                one = Hub(RTT)
                one_s, one_parts, _ = org_run(one, job, [BASELINE], run_id=f"{job}-one", queues=queues)
                org = Hub(RTT)
                cpu = time.process_time()
                org_s, parts, emails = org_run(org, job, members, run_id=f"{job}-org", queues=queues)
                cpu = time.process_time() - cpu
                isolated = all(
                    _comparable(parts[a]) == _comparable(one_parts[BASELINE]) for a in members if a != DENIED
                )
                denied_ok = parts[DENIED]["error"] == "AccessDenied"
                note = (
                    f"{len(members)} accounts (1 denied) x {len(REGIONS)} regions, {MAX_CONCURRENCY} at a "
                    f"time, {RTT * 1000:.0f} ms RTT, in-process moto ({cpu:.1f} s CPU); "
                    f"emails: {len(emails)}; "
                    f"others unchanged by the denial: {isolated and denied_ok}"
                )
                rows.append(
                    row(
                        f"ORG-{job}",
                        f"org {label} wall time vs one account's",
                        org_s,
                        one_s,
                        unit="s",
                        note=note,
                    )
                )
                rows.append(
                    row(
                        f"ORG-{job}-calls",
                        f"org {label} AWS calls per account (hub's included)",
                        sum(org.calls.values()) / len(members),
                        sum(one.calls.values()),
                        unit="calls",
                        note="vs the same path for one account alone",
                    )
                )
                if job == "cors-sweep":
                    rows.append(
                        row(
                            "ORG-cors-sweep-wait",
                            "org CORS sweep: time the round trip adds, vs one account's",
                            org_s - bare["org"],
                            one_s - bare["one"],
                            unit="s",
                            note=f"minus the same runs at 0 ms ({bare['org']:.2f} s, {bare['one']:.2f} s)",
                        )
                    )
        reset_clients()
        metrics.clear_metrics()
        metrics.namespace = saved_namespace
    return rows


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
