"""P1: cold start of each built function, as init plus the first invocation of a batch of one.

Ours, in a fresh interpreter: import the handler from .aws-sam/build and invoke it once with a real event
against a moto server. The baseline, in a fresh interpreter too: `import boto3`, the same clients, and the
one AWS call that does the same job. Timing the first invocation as well means an import moved from init
into the first call gains nothing. Both sides run against the same moto server (its own process), and the
world is reset and seeded before every run, outside the timing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.harness import REPO_ROOT, row
from scripts.pipeline.moto_server import MotoServer

BUILD = REPO_ROOT / ".aws-sam" / "build"
RUNS = 9
SENDER = "groundskeeper@example.com"
BUCKET = "groundskeeper-local-uploads"  # the bucket events/s3-object-created.json names
ORIGIN = "https://app.example.com"
TEMPLATE = "example-welcome"
LEDGER_TABLE = "bench-idempotency"
COMMON_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_METRICS_NAMESPACE": "Groundskeeper",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


@dataclass(frozen=True)
class Case:
    """One function: its handler, the world it needs, and the baseline's clients and one equivalent call."""

    handler: str
    event: str  # a file in events/
    services: tuple[str, ...]  # the clients the first invocation creates
    # The AWS calls of the first invocation that do the job, as Python with one variable per client: the
    # baseline makes the same kinds of calls, so that only our own code is measured against it.
    baseline_calls: tuple[str, ...]
    seed: Callable[[MotoServer], dict[str, str]]  # returns the function's environment
    env: dict[str, str] = field(default_factory=dict)


def _seed_auditor(moto: MotoServer) -> dict[str, str]:
    # A bucket whose CORS passes the rules: the first run's work is then one GetBucketCors, the baseline's.
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_cors(
        Bucket=BUCKET,
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": [ORIGIN], "AllowedMethods": ["GET"]}]},
    )
    queue = moto.client("sqs").create_queue(QueueName="bench-email-queue")["QueueUrl"]
    return {"ALLOWED_ORIGINS": ORIGIN, "NOTIFY_QUEUE_URL": queue, "NOTIFY_EMAIL": "owner@example.com"}


def _seed_sender(moto: MotoServer) -> dict[str, str]:
    from bench.email_sender import seed_world

    return {"DEAD_LETTER_QUEUE_URL": seed_world(moto)}


def _seed_janitor(moto: MotoServer) -> dict[str, str]:
    # No addresses and no hosted zones: the first run's work is then one DescribeAddresses and the DNS
    # guard's one ListHostedZones, the baseline's calls; in a dry run the run ledger's table (the template
    # gives it the idempotency table) only costs its client. Asking once here makes moto build its EC2 and
    # Route 53 backends (seconds, after a reset) outside the timing, as the other seeds do for theirs by
    # creating the bucket, the table and the identity.
    moto.client("ec2").describe_addresses()
    moto.client("route53").list_hosted_zones()
    moto.client("dynamodb").create_table(
        TableName=LEDGER_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue = moto.client("sqs").create_queue(QueueName="bench-email-queue")["QueueUrl"]
    return {"NOTIFY_QUEUE_URL": queue, "NOTIFY_EMAIL": "owner@example.com", "RUN_LEDGER_TABLE": LEDGER_TABLE}


# logical id -> case; each environment is what template.yaml gives the function (its parameters' defaults).
CASES: dict[str, Case] = {
    "CorsAuditorFunction": Case(
        handler="cors_auditor.handlers.uploads",
        event="s3-object-created.json",
        services=("s3", "sqs"),
        # The bucket's allowlist tag is read too; an untagged bucket answers NoSuchTagSet.
        baseline_calls=(
            f"s3.get_bucket_cors(Bucket={BUCKET!r})",
            f"try: s3.get_bucket_tagging(Bucket={BUCKET!r})\nexcept s3.exceptions.ClientError: pass",
        ),
        seed=_seed_auditor,
        env={"POWERTOOLS_SERVICE_NAME": "cors-auditor", "REMEDIATION": "off", "AUDIT_CACHE_SECONDS": "300"},
    ),
    "EmailSenderFunction": Case(
        handler="email_sender.handler",
        event="sqs-email-request.json",
        services=("ses", "sqs", "dynamodb"),
        # The baseline for the sender: one send. Idempotency's writes and the template's fetch are
        # the sender's own work, in the ratio.
        baseline_calls=(
            f"ses.send_templated_email(Source={SENDER!r}, Template={TEMPLATE!r}, "
            "Destination={'ToAddresses': ['new.user@example.com']}, "
            """TemplateData='{"name": "Ada", "product": "Groundskeeper"}')""",
        ),
        seed=_seed_sender,
        env={
            "POWERTOOLS_SERVICE_NAME": "email-sender",
            "SENDER_EMAIL": SENDER,
            "IDEMPOTENCY_TABLE": "bench-idempotency",
            "IDEMPOTENCY_TTL_SECONDS": "345600",
            "TEMPLATE_CACHE_SECONDS": "300",
            "SEND_CONCURRENCY": "10",
        },
    ),
    "EipJanitorFunction": Case(
        handler="eip_janitor.handlers.schedule",
        event="schedule-eip-janitor.json",
        services=("ec2", "sqs", "route53", "dynamodb"),
        baseline_calls=("ec2.describe_addresses()", "route53.list_hosted_zones()"),
        seed=_seed_janitor,
        env={
            "POWERTOOLS_SERVICE_NAME": "eip-janitor",
            "DRY_RUN": "true",
            "GRACE_PERIOD_HOURS": "168",
            "DNS_GUARD": "on",
        },
    ),
}

# Both sides load the event and the context before the clocks start, and print wall and CPU seconds last.
_OURS = """
import json, time
from tests.lambda_context import FakeLambdaContext
event, context = json.load(open({event!r})), FakeLambdaContext()
start, cpu = time.perf_counter(), time.process_time()
import {handler} as function
result = function.lambda_handler(event, context)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
assert not result.get("batchItemFailures"), result
print(f"P1_SECONDS={{elapsed}},{{cpu}}")
"""
_BASELINE = """
import json, time
from tests.lambda_context import FakeLambdaContext
event, context = json.load(open({event!r})), FakeLambdaContext()
start, cpu = time.perf_counter(), time.process_time()
import boto3
{clients}
{calls}
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(f"P1_SECONDS={{elapsed}},{{cpu}}")
"""


def _time_once(code: str, pythonpath: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of the process's import and first invocation."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env, "PYTHONPATH": pythonpath, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    marks = [line for line in proc.stdout.splitlines() if line.startswith("P1_SECONDS=")]
    if proc.returncode != 0 or not marks:
        raise RuntimeError(
            f"P1 run failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    wall, cpu = marks[-1].split("=", 1)[1].split(",")
    return float(wall), float(cpu)


def measure(moto: MotoServer, logical_id: str) -> dict[str, Any]:
    case = CASES[logical_id]
    event = str(REPO_ROOT / "events" / case.event)
    ours_code = _OURS.format(event=event, handler=case.handler)
    clients = "\n".join(f"{s} = boto3.client({s!r})" for s in case.services)
    base_code = _BASELINE.format(event=event, clients=clients, calls="\n".join(case.baseline_calls))
    # The built function and layer first, as in Lambda; the repo root last, for the fake context only.
    ours_path = os.pathsep.join(
        [str(BUILD / logical_id), str(BUILD / "CommonLayer" / "python"), str(REPO_ROOT)]
    )
    ours: list[tuple[float, float]] = []
    base: list[tuple[float, float]] = []
    for _ in range(RUNS):  # interleaved, so machine noise hits both sides alike
        moto.reset()
        env = {**COMMON_ENV, **case.env, **case.seed(moto), "AWS_ENDPOINT_URL": moto.endpoint}
        ours.append(_time_once(ours_code, ours_path, env))
        moto.reset()
        env = {**COMMON_ENV, **case.env, **case.seed(moto), "AWS_ENDPOINT_URL": moto.endpoint}
        base.append(_time_once(base_code, str(REPO_ROOT), env))
    ours_ms, base_ms = (statistics.median(wall for wall, _ in runs) * 1000 for runs in (ours, base))
    ours_cpu, base_cpu = (statistics.median(cpu for _, cpu in runs) * 1000 for runs in (ours, base))
    calls = ", ".join(call.split("(", 1)[0].removeprefix("try: ") for call in case.baseline_calls)
    return row(
        "P1",
        f"cold start + first invocation (batch of one), {logical_id}",
        ours_ms,
        base_ms,
        unit="ms",
        note=f"wall, median of {RUNS}; CPU {ours_cpu:.0f} vs {base_cpu:.0f} ms ({ours_cpu / base_cpu:.2f}x); "
        f"baseline = import boto3 + {', '.join(case.services)} clients + {calls}; goal <= 1.2x",
    )


def run() -> list[dict[str, Any]]:
    if not BUILD.is_dir():
        raise SystemExit("run `sam build` (make build) first: P1 measures the built functions")
    moto = MotoServer.spawn()
    try:
        return [measure(moto, logical_id) for logical_id in CASES]
    finally:
        moto.stop()


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
