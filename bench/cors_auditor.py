"""Benchmarks of the CORS auditor: AWS calls and time per 1,000 uploads, sweep concurrency, the action
journal's AWS calls per rewrite, cold import.

Run: `python -m bench.cors_auditor` (from the repo root). Every ratio's baseline is measured in the same run.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from bench.harness import REPO_ROOT as ROOT
from bench.harness import RTT, environment, instrument, row
from groundskeeper.action_journal import KEY_SCHEMA
from scripts.pipeline.moto_server import MotoServer
from tests.lambda_context import FakeLambdaContext

UPLOADS = 1000
BATCH = 10  # the SQS batch size; S3 invoking directly sends one record per invocation
DELAYED_UPLOADS = 200
SWEEP_BUCKETS = 100
IMPORT_RUNS = 9
BUCKET = "bench-uploads"
BAD_CORS = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"]}]}
# The environment template.yaml gives the function (defaults of its parameters).
TEMPLATE_ENV = {
    "POWERTOOLS_SERVICE_NAME": "cors-auditor",
    "POWERTOOLS_METRICS_NAMESPACE": "Groundskeeper",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "ALLOWED_ORIGINS": "",
    "REMEDIATION": "off",
    "AUDIT_CACHE_SECONDS": "300",
    "NOTIFY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/groundskeeper-EmailQueue",
    "NOTIFY_EMAIL": "",
    "NOTIFY_MIN_SEVERITY": "MEDIUM",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def upload_events(uploads: int = UPLOADS) -> list[dict[str, Any]]:
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": ""}},
    }
    records = [
        {**record, "s3": {"bucket": {"name": BUCKET}, "object": {"key": f"day+1/object+{i}.csv"}}}
        for i in range(uploads)
    ]
    return [{"Records": records[i : i + BATCH]} for i in range(0, uploads, BATCH)]


def run_ours(delay: float, uploads: int = UPLOADS) -> tuple[int, float]:
    """The real uploads handler, decorators and all, in one warm container: (AWS calls, seconds)."""
    from cors_auditor import warm_state
    from cors_auditor.handlers import uploads as handler
    from cors_auditor.settings import Settings
    from cors_auditor.verdict_cache import SeenKeys, VerdictCache
    from groundskeeper.aws_clients import client, reset_clients
    from groundskeeper.observability import logger

    reset_clients()
    warm_state.SETTINGS, warm_state.VERDICTS, warm_state.NOTIFIED = Settings(), VerdictCache(), SeenKeys()
    calls: Counter[str] = Counter()
    instrument(client("s3"), calls, delay)
    events, context, level = upload_events(uploads), FakeLambdaContext(), logger.log_level
    logger.setLevel("WARNING")  # 100 invocations of INFO lines would time the terminal, not the auditor
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the EMF blobs
            start = time.perf_counter()
            for event in events:
                handler.lambda_handler(event, context)
            elapsed = time.perf_counter() - start
    finally:
        logger.setLevel(level)
        reset_clients()
    return sum(calls.values()), elapsed


def run_naive(delay: float, uploads: int = UPLOADS) -> tuple[int, float]:
    """A per-record audit (a reused client, no verdict cache): one GetBucketCors per upload."""
    import boto3

    from cors_auditor.rules import evaluate

    s3 = boto3.client("s3", region_name="us-east-1")
    calls: Counter[str] = Counter()
    instrument(s3, calls, delay)
    start = time.perf_counter()
    for event in upload_events(uploads):
        for record in event["Records"]:
            rules = s3.get_bucket_cors(Bucket=record["s3"]["bucket"]["name"])["CORSRules"]
            evaluate({"CORSRules": rules})
    return sum(calls.values()), time.perf_counter() - start


def run_sweep(concurrency: int, delay: float) -> float:
    from cors_auditor.audit import run_audit
    from cors_auditor.event_sources import sweep_targets
    from cors_auditor.settings import Settings
    from cors_auditor.verdict_cache import SeenKeys, VerdictCache
    from groundskeeper.aws_clients import client, reset_clients
    from groundskeeper.observability import logger

    reset_clients()
    instrument(client("s3"), Counter(), delay)
    level = logger.log_level
    logger.setLevel("WARNING")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            result = run_audit(
                sweep_targets(),
                s3=client("s3"),
                settings=Settings(sweep_concurrency=concurrency),
                cache=VerdictCache(),
                seen=SeenKeys(),
            )
            elapsed = time.perf_counter() - start
    finally:
        logger.setLevel(level)
        reset_clients()
    assert len(result["audited"]) == SWEEP_BUCKETS + 1
    return elapsed


IMPORT_HANDLER = "import cors_auditor.handlers.uploads"
IMPORT_BOTO3 = "import boto3; boto3.client('s3')"
IMPORT_HANDLER_AND_CLIENT = (
    "import cors_auditor.handlers.uploads; from groundskeeper.aws_clients import client; client('s3')"
)


def cold_imports(statements: list[str]) -> list[float]:
    """Median seconds each statement takes in fresh interpreters (start-up excluded). The statements take
    turns, so a busy neighbour on the machine slows all of them alike."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{ROOT / 'layers/groundskeeper'}{os.pathsep}{ROOT / 'functions/cors_auditor'}",
        **TEMPLATE_ENV,
        **FAKE_AWS,
    }
    samples: list[list[float]] = [[] for _ in statements]
    for _ in range(IMPORT_RUNS):
        for index, statement in enumerate(statements):
            code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
            done = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            samples[index].append(float(done.stdout))
    return [statistics.median(values) for values in samples]


def measure_uploads_and_sweep(server: MotoServer) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration=BAD_CORS)  # type: ignore[arg-type]
    what = "real handler (decorators, verdict cache) vs get_bucket_cors + the same rules per record"
    # With the delay the naive side takes 30 ms x uploads, so that comparison runs on fewer uploads.
    for delay, uploads in ((0.0, UPLOADS), (RTT, DELAYED_UPLOADS)):
        label = f"{delay * 1000:.0f} ms simulated round trip" if delay else "raw moto"
        ours_calls, ours_time = run_ours(delay, uploads)
        naive_calls, naive_time = run_naive(delay, uploads)
        if not delay:
            rows.append(
                row(
                    "P2",
                    f"AWS calls per {UPLOADS} uploads (one warm container)",
                    ours_calls,
                    naive_calls,
                    unit="calls",
                    note=f"{UPLOADS // BATCH} events of {BATCH} records vs one GetBucketCors per record; "
                    "a burst spread over N containers costs N calls",
                )
            )
        rows.append(
            row(
                "CORS2" if not delay else "CORS3",
                f"time for {uploads} uploads ({label})",
                ours_time,
                naive_time,
                unit="s",
                note=what,
            )
        )
    for i in range(SWEEP_BUCKETS):
        s3.create_bucket(Bucket=f"bench-sweep-{i:03d}")
        if i % 2:
            s3.put_bucket_cors(Bucket=f"bench-sweep-{i:03d}", CORSConfiguration=BAD_CORS)  # type: ignore[arg-type]
    bounded, sequential = run_sweep(8, RTT), run_sweep(1, RTT)
    rows.append(
        row(
            "CORS4",
            f"sweep of {SWEEP_BUCKETS + 1} buckets ({RTT * 1000:.0f} ms round trip)",
            bounded,
            sequential,
            unit="s",
            note="8 buckets at a time vs one at a time (same code); raw moto hides this",
        )
    )
    return rows


JOURNAL_TABLE = "bench-action-journal"
JOURNAL_BUCKETS = 20  # rewritten by the sweep
QUIET_BUCKETS = 20  # compliant: audited, nothing to do
S3_WRITES = frozenset({"PutBucketCors", "DeleteBucketCors"})


def journal_sweep(journaled: bool) -> Counter[str]:
    """One sweep with REMEDIATION=fix through the sweep handler: every AWS call it made, by operation."""
    from cors_auditor import warm_state
    from cors_auditor.handlers import sweep as handler
    from cors_auditor.settings import Settings
    from cors_auditor.verdict_cache import SeenKeys, VerdictCache
    from groundskeeper.aws_clients import client, reset_clients
    from groundskeeper.observability import logger

    reset_clients()
    s3 = client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        s3.delete_bucket_cors(Bucket=bucket["Name"])
    for i in range(JOURNAL_BUCKETS):
        s3.put_bucket_cors(Bucket=f"bench-journal-bad-{i:02d}", CORSConfiguration=BAD_CORS)  # type: ignore[arg-type]
    settings = Settings(remediation="fix", journal_table=JOURNAL_TABLE if journaled else "")
    warm_state.SETTINGS, warm_state.VERDICTS, warm_state.NOTIFIED = settings, VerdictCache(), SeenKeys()
    calls: Counter[str] = Counter()
    instrument(s3, calls, 0.0)
    instrument(client("dynamodb"), calls, 0.0)
    level = logger.log_level
    logger.setLevel("WARNING")
    event = {"id": f"bench-sweep-{journaled}", "detail-type": "Scheduled Event", "source": "aws.events"}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            handler.lambda_handler(event, FakeLambdaContext())
    finally:
        logger.setLevel(level)
        reset_clients()
    return calls


def measure_journal(server: MotoServer) -> list[dict[str, Any]]:
    """What writing each rewrite down costs: AWS calls per rewrite with and without the journal, and per
    bucket audited with nothing to do."""
    server.client("dynamodb").create_table(
        TableName=JOURNAL_TABLE,
        **KEY_SCHEMA,
        BillingMode="PAY_PER_REQUEST",
    )
    s3 = server.client("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        s3.delete_bucket_cors(Bucket=bucket["Name"])
    for i in range(JOURNAL_BUCKETS):
        s3.create_bucket(Bucket=f"bench-journal-bad-{i:02d}")
    for i in range(QUIET_BUCKETS):
        s3.create_bucket(Bucket=f"bench-journal-good-{i:02d}")
    with_journal, without = journal_sweep(True), journal_sweep(False)
    journal_ops = ("PutItem", "UpdateItem")
    per_action = (sum(with_journal[op] for op in (*S3_WRITES, *journal_ops))) / JOURNAL_BUCKETS
    per_action_bare = sum(without[op] for op in S3_WRITES) / JOURNAL_BUCKETS
    print(
        f"action journal: {per_action:.0f} AWS calls per rewrite (PutBucketCors + the intent's PutItem + "
        f"the outcome's UpdateItem), {with_journal['Query']} Query per invocation, 0 per bucket with no "
        f"action ({with_journal['Query']} / {JOURNAL_BUCKETS + QUIET_BUCKETS} buckets audited)",
        file=sys.stderr,
    )
    total = sum(with_journal.values())
    total_bare = sum(without.values())
    buckets = JOURNAL_BUCKETS + QUIET_BUCKETS
    return [
        row(
            "CORS7",
            "AWS calls per CORS rewrite, journaled vs not",
            per_action,
            per_action_bare,
            unit="calls",
            note="intent PutItem + PutBucketCors + outcome UpdateItem vs PutBucketCors alone",
        ),
        row(
            "CORS8",
            f"AWS calls per bucket, sweep of {buckets} ({JOURNAL_BUCKETS} rewritten), journaled vs not",
            total / buckets,
            total_bare / buckets,
            unit="calls",
            note=f"the journal adds one Query per invocation ({with_journal['Query']} here) and nothing per "
            "bucket with no action",
        ),
    ]


def run() -> list[dict[str, Any]]:
    server = MotoServer.spawn(in_process=True)
    try:
        with environment({**TEMPLATE_ENV, **FAKE_AWS, "AWS_ENDPOINT_URL": server.endpoint}):
            rows = measure_uploads_and_sweep(server)
            rows += measure_journal(server)
    finally:
        server.stop()
    boto3_client, handler_import, handler_client = cold_imports(
        [IMPORT_BOTO3, IMPORT_HANDLER, IMPORT_HANDLER_AND_CLIENT]
    )
    note = f"median of {IMPORT_RUNS} fresh interpreters each, taking turns; the template's env"
    rows.append(
        row(
            "CORS5",
            "cold import: handler vs `import boto3` + an S3 client",
            handler_import,
            boto3_client,
            unit="s",
            note=note,
        )
    )
    rows.append(
        row(
            "CORS6",
            "cold start: handler import + its S3 client vs the same baseline",
            handler_client,
            boto3_client,
            unit="s",
            note=note,
        )
    )
    return rows


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
