"""Benchmark of the org sweep: ACCOUNTS member accounts x 4 regions on a moto server, each with idle and
in-use addresses and a good and a bad bucket, through the real fan-out (plan_run -> the work queue ->
process_work_item), against one account through the same path (the median of three accounts, each run
alone). Every HTTP request pays a simulated round trip. One account's role is denied: its part is an error,
and every other account's part must equal a baseline account's.

The workers run as Lambda runs them: in processes of their own, never in the benchmark's interpreter, and
the embedded AWS is a moto server in its own process. WORKERS processes share the work, MAX_CONCURRENCY
accounts in flight at once like the work queue mapping's MaximumConcurrency. On Lambda each of those
accounts has a CPU of its own and AWS answers in parallel; here two cores run the workers and the whole of
AWS. So each row also gives the run's CPU (workers and server) over the machine's cores, as a ratio to one
account's time: the floor that no fan-out on this machine can beat.

Run: python -m bench.org_sweep   (ORG_ACCOUNTS=<n> for a smaller run).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import RTT, environment, instrument, row

ACCOUNTS = int(os.environ.get("ORG_ACCOUNTS", "100"))
SMALL_ORG = 10  # an org this machine's two cores can sweep without running out of CPU
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
MAX_CONCURRENCY = 100  # accounts in flight at once, as the work queue mapping's MaximumConcurrency
WORKERS = max(2, os.cpu_count() or 2)  # worker processes: more than the cores would only add switching
ROLE = "GroundskeeperMember"
HUB = "123456789012"  # moto's default account
BASELINES = ("100000000000", "100000000002", "100000000003")  # one account's time: the median of three
DENIED = "100000000001"
TABLE = "org-runs"
BAD_CORS = {"CORSRules": [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["*"]}]}
JOBS = (("eip-janitor", "EIP janitor"), ("cors-sweep", "CORS sweep"))
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "GroundskeeperBench",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


class Hub:
    """The hub's clients and a session factory whose every client pays the round trip and is counted."""

    def __init__(self, delay: float) -> None:
        import boto3

        from groundskeeper_org.accounts import AccountSessions
        from groundskeeper_org.runs import RunParts
        from tests.integration.org.conftest import deny_assume_role

        self.calls: Counter[str] = Counter()
        members = boto3.session.Session()
        self.sts = boto3.client("sts")
        self.sqs = boto3.client("sqs")
        self.dynamodb = boto3.client("dynamodb")
        for hub_client in (self.sts, self.sqs, self.dynamodb):
            instrument(hub_client, self.calls, delay)

        def count(model: Any, **_: Any) -> None:
            self.calls[model.name] += 1  # Counter updates of one key are atomic enough under the GIL

        members.events.register("before-call", count)
        if delay:
            members.events.register("before-send", lambda **_: time.sleep(delay))
        deny_assume_role(self.sts, DENIED)
        self.sessions = AccountSessions(self.sts, role_name=ROLE, own_account=HUB, boto_session=members)
        self.parts = RunParts(self.dynamodb, TABLE)


# --- in a worker process: one "Lambda container", MAX_CONCURRENCY / WORKERS invocations at once ---------


def _worker_init(root: str) -> None:
    for folder in (
        "layers/groundskeeper",
        "layers/org",
        *(f"functions/{n}" for n in ("cors_auditor", "email_sender", "eip_janitor")),
    ):
        if str(Path(root) / folder) not in sys.path:
            sys.path.insert(0, str(Path(root) / folder))
    # Lambda ships stdout to CloudWatch Logs; here the workers' logs and metrics are not the bench's output.
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the worker process
    # The imports a warm container has already paid for.
    import cors_auditor.org_worker  # noqa: F401
    import eip_janitor.org_worker  # noqa: F401


def _work(
    job: str, items: list[Any], *, delay: float, email_url: str, now: str, threads: int
) -> tuple[list[Any], Counter[str], float]:
    """Sweep these accounts, `threads` at once: their parts, the AWS calls made, and the CPU used."""
    from cors_auditor.org_worker import sweep_account_cors
    from cors_auditor.settings import Settings as AuditSettings
    from eip_janitor.org_worker import sweep_account_eips
    from eip_janitor.run_ledger import RunLedger
    from eip_janitor.settings import Settings as JanitorSettings
    from groundskeeper.notify import Notifier
    from groundskeeper_org.runs import AccountPart, process_work_item
    from tests.integration.org.conftest import ALLOWED

    cpu = time.process_time()
    hub = Hub(delay)
    when = datetime.fromisoformat(now)
    ledger = RunLedger(hub.dynamodb, TABLE)
    janitor = JanitorSettings(dry_run=False, regions=REGIONS, max_releases_per_run=10)
    auditor = AuditSettings(allowed_origins=(ALLOWED,))
    sweeps: dict[str, Callable[[Any], AccountPart]] = {
        "eip-janitor": lambda item: sweep_account_eips(
            janitor,
            hub.sessions,
            item["account_id"],
            run_id=item["run_id"],
            own_region="us-east-1",
            now=when,
            ledger=ledger,
        ),
        "cors-sweep": lambda item: sweep_account_cors(auditor, hub.sessions, item["account_id"]),
    }
    notify = Notifier(queue_url=email_url, recipients=("ops@example.com",))

    def one(item: Any) -> Any:
        return process_work_item(
            item, lambda _: sweeps[job](item), hub.parts, notify=notify, sqs=hub.sqs, now=when
        )[0]

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(items)))) as pool:
        parts = list(pool.map(one, items))
    return parts, hub.calls, time.process_time() - cpu


def _warm(_: int) -> int:
    time.sleep(0.5)  # long enough that every worker process takes one
    return os.getpid()


# --- in the benchmark's process: the planner, the queue and the measurements ---------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc (0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)],
        )
    return messages


def org_run(
    pool: ProcessPoolExecutor,
    server_pid: int,
    job: str,
    accounts: list[str],
    *,
    run_id: str,
    queues: tuple[str, str],
    delay: float,
) -> dict[str, Any]:
    """plan_run, then the queue's items shared among the worker processes: seconds, CPU, parts, emails."""
    from groundskeeper_org.runs import notification_key, parse_work_item, plan_run

    work_url, email_url = queues
    now = datetime.now(UTC)
    planner = Hub(delay)
    server_cpu, own_cpu = _cpu_seconds(server_pid), time.process_time()
    started = time.perf_counter()
    plan_run(run_id, job, accounts, planner.parts, sqs=planner.sqs, queue_url=work_url, now=now)
    items = [parse_work_item(m["Body"]) for m in _drain(planner.sqs, work_url)]
    shares = [items[n::WORKERS] for n in range(WORKERS) if items[n::WORKERS]]
    threads = max(1, MAX_CONCURRENCY // WORKERS)
    futures = [
        pool.submit(_work, job, share, delay=delay, email_url=email_url, now=now.isoformat(), threads=threads)
        for share in shares
    ]
    results = [f.result() for f in futures]
    seconds = time.perf_counter() - started
    server_cpu = _cpu_seconds(server_pid) - server_cpu
    workers_cpu = time.process_time() - own_cpu + sum(r[2] for r in results)
    calls = sum((r[1] for r in results), planner.calls)
    key = notification_key(run_id, job)
    emails = [json.loads(m["Body"]) for m in _drain(planner.sqs, email_url)]
    return {
        "seconds": seconds,
        "cpu": server_cpu + workers_cpu,
        "server_cpu": server_cpu,
        "calls": sum(calls.values()),
        "parts": {part["account_id"]: part for r in results for part in r[0]},
        "emails": [e for e in emails if e.get("idempotency_key") == key],
    }


def _comparable(part: Any) -> Any:
    return json.dumps(
        {k: v for k, v in part.items() if k not in ("account_id", "detail")}, sort_keys=True
    ).replace(part["account_id"], "<account>")


def _seed(accounts: list[str]) -> tuple[str, str]:
    import boto3

    from tests.integration.org.conftest import seed_member

    print(f"  seeding {len(accounts)} accounts x {len(REGIONS)} regions ...", file=sys.stderr, flush=True)
    with ThreadPoolExecutor(max_workers=8) as seeders:
        list(seeders.map(lambda a: seed_member(a, REGIONS, BAD_CORS), accounts))
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = boto3.client("sqs")
    return sqs.create_queue(QueueName="org-work")["QueueUrl"], sqs.create_queue(QueueName="email")["QueueUrl"]


def run() -> list[dict[str, Any]]:
    from bench.harness import REPO_ROOT
    from bench.org_custodian import custodian_org  # it imports this module's seeded state
    from scripts.pipeline.moto_server import MotoServer

    server = MotoServer.spawn()
    assert server._process is not None  # spawned in its own process, never in this interpreter
    members = [f"{200000000000 + n}" for n in range(ACCOUNTS - 1)] + [DENIED]
    small = [f"{300000000000 + n}" for n in range(SMALL_ORG - 1)] + [DENIED]
    rows: list[dict[str, Any]] = []
    cores = os.cpu_count() or 1
    try:
        with (
            environment({**ENV, "AWS_ENDPOINT_URL": server.endpoint}),
            ProcessPoolExecutor(
                WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(str(REPO_ROOT),),
            ) as pool,
        ):
            queues = _seed([*BASELINES, *members, *small[:-1]])
            # Custodian first: it only reads, where our janitor's run releases what it finds.
            custodian = custodian_org(server.endpoint, members, REGIONS, delay=RTT)
            list(pool.map(_warm, range(WORKERS)))
            pid = server._process.pid
            ours: dict[str, dict[str, Any]] = {}
            for job, label in JOBS:
                alone = [
                    org_run(pool, pid, job, [a], run_id=f"{job}-one-{a}", queues=queues, delay=RTT)
                    for a in BASELINES
                ]
                one = sorted(alone, key=lambda run: run["seconds"])[len(alone) // 2]
                few = org_run(pool, pid, job, small, run_id=f"{job}-small", queues=queues, delay=RTT)
                rows.append(
                    row(
                        f"ORG-{job}-{SMALL_ORG}",
                        f"org of {SMALL_ORG} accounts, {label}: wall time vs one account's",
                        few["seconds"],
                        one["seconds"],
                        unit="s",
                        note=(
                            f"CPU {few['cpu']:.1f} s (moto {few['server_cpu']:.1f} s): the fan-out when "
                            f"the CPU is not the limit; emails: {len(few['emails'])}"
                        ),
                    )
                )
                org = ours[job] = org_run(
                    pool, pid, job, members, run_id=f"{job}-org", queues=queues, delay=RTT
                )
                parts = org["parts"]
                baseline = _comparable(alone[0]["parts"][BASELINES[0]])
                isolated = all(_comparable(parts[a]) == baseline for a in members if a != DENIED)
                denied_ok = parts[DENIED]["error"] == "AccessDenied"
                # Nothing on this machine can beat the CPU on all cores, nor moto's CPU on its one GIL.
                floor = max(org["cpu"] / cores, org["server_cpu"]) / one["seconds"]
                rows.append(
                    row(
                        f"ORG-{job}",
                        f"org {label} wall time vs one account's",
                        org["seconds"],
                        one["seconds"],
                        unit="s",
                        note=(
                            f"{len(members)} accounts (1 denied) x {len(REGIONS)} regions, {MAX_CONCURRENCY} "
                            f"at a time in {WORKERS} worker processes, {RTT * 1000:.0f} ms RTT, moto server; "
                            f"CPU {org['cpu']:.1f} s (moto {org['server_cpu']:.1f} s on its one GIL) on "
                            f"{cores} cores: the floor here is {floor:.1f}x; emails: {len(org['emails'])}; "
                            f"others unchanged by the denial: {isolated and denied_ok}"
                        ),
                    )
                )
                rows.append(
                    row(
                        f"ORG-{job}-calls",
                        f"org {label} AWS calls per account (hub's included)",
                        org["calls"] / len(members),
                        one["calls"],
                        unit="calls",
                        note="vs the same path for one account alone",
                    )
                )
            if custodian is not None:
                rows.append(_versus_custodian(ours, custodian, len(members)))
    finally:
        server.stop()
    return rows


def _versus_custodian(ours: dict[str, dict[str, Any]], custodian: dict[str, Any], accounts: int) -> Any:
    """Both our org runs (the janitor's and the CORS sweep's) against Custodian's one run of both checks."""
    seconds = sum(run["seconds"] for run in ours.values())
    calls = sum(run["calls"] for run in ours.values())
    cpu = sum(run["cpu"] for run in ours.values())
    expected = (3 * len(REGIONS) * accounts, accounts)
    right = (custodian["eip_matched"], custodian["cors_matched"]) == expected
    return row(
        "ORG-custodian",
        f"org sweep, EIPs and CORS, {accounts} accounts: ours vs {custodian['tool']}",
        seconds,
        custodian["seconds"],
        unit="s",
        note=(
            f"same state, {RTT * 1000:.0f} ms RTT; ours marks, releases and judges CORS, Custodian only "
            f"lists (dry run); calls per account ours {calls / accounts:.1f}, Custodian "
            f"{custodian['calls'] / accounts:.1f}; CPU ours {cpu:.1f} s (moto's "
            f"included), Custodian's {custodian['cpu']} s (moto's not); "
            f"its matches right: {right}, its failed accounts: {custodian['accounts_failed']}"
        ),
    )


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
