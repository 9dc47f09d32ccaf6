"""P1: cold start of each function, as init plus the first invocation of a batch of one, in CPU time.

Ours, in a fresh interpreter: import the handler and invoke it once with a real event against a moto server.
The baseline, in a fresh interpreter too: `import boto3`, a client for each service the handler called, and
the same calls with the same parameters (recorded from one untimed run of ours, then replayed). Timing the
first invocation as well means an import moved from init into the first call gains nothing. Both sides run
against the same moto server (its own process, so its CPU is not counted), and the world is reset and seeded
before every run, outside the timing. Runs are interleaved, so machine noise hits both sides alike.

The figure is CPU time (user + sys, every thread), which holds on a loaded machine where wall time does not:
from the first import to the invocation's return, in the process itself ("window"), and the whole process
from exec to exit ("process", which adds the interpreter's own start, the same on both sides).

By default the functions run from the source tree (function folder, then the layer, then this venv's
site-packages, where Powertools is pinned as in the layer): no `sam build` needed. `--built` runs the sam
build output instead, as Lambda lays it out. The handler modules are parameters; the first of each case's
candidates that exists is used.

    python -m bench.cold_start [--quick] [--runs N] [--built] [--only auditor|sender|janitor]
        [--auditor-handler MOD] [--sender-handler MOD] [--janitor-handler MOD]
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import REPO_ROOT, row
from bench.table import render
from scripts.pipeline.moto_server import MotoServer

BUILD = REPO_ROOT / ".aws-sam" / "build"
PYCACHE = REPO_ROOT / ".local" / "bench-pycache"  # every module's bytecode, both sides (see _time_once)
RUNS = 9
QUICK_RUNS = 3
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
    """One function: its handler module (the first candidate that exists), its event and its world."""

    name: str  # the short name on the command line
    function_dir: str  # under functions/
    handlers: tuple[str, ...]  # handler module candidates, newest layout first
    event: str  # a file in events/
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
        name="auditor",
        function_dir="cors_auditor",
        handlers=("cors_auditor.handlers.uploads",),
        event="s3-object-created.json",
        seed=_seed_auditor,
        env={"POWERTOOLS_SERVICE_NAME": "cors-auditor", "REMEDIATION": "off", "AUDIT_CACHE_SECONDS": "300"},
    ),
    "EmailSenderFunction": Case(
        name="sender",
        function_dir="email_sender",
        handlers=("email_sender.handler",),
        event="sqs-email-request.json",
        seed=_seed_sender,
        env={
            "POWERTOOLS_SERVICE_NAME": "email-sender",
            "SENDER_EMAIL": SENDER,
            "IDEMPOTENCY_TABLE": "bench-idempotency",
            "SES_CONFIGURATION_SET": "bench-email",
            "IDEMPOTENCY_TTL_SECONDS": "345600",
            "TEMPLATE_CACHE_SECONDS": "300",
            "SEND_CONCURRENCY": "10",
        },
    ),
    "EipJanitorFunction": Case(
        name="janitor",
        function_dir="eip_janitor",
        handlers=("eip_janitor.handlers.schedule",),
        event="schedule-eip-janitor.json",
        seed=_seed_janitor,
        env={
            "POWERTOOLS_SERVICE_NAME": "eip-janitor",
            "DRY_RUN": "true",
            "GRACE_PERIOD_HOURS": "168",
            "DNS_GUARD": "on",
        },
    ),
}

# Both sides load what they need before the clock starts (the event and the context; the baseline its recorded
# calls), and print the window's wall and CPU seconds last. RECORD names a file: ours then also records every
# AWS call it makes, untimed, for the baseline to replay.
_OURS = """
import json, os, time
from tests.lambda_context import FakeLambdaContext
event, context = json.load(open({event!r})), FakeLambdaContext()
if os.environ.get("P1_RECORD"):
    import pickle, botocore.client
    made, call = [], botocore.client.BaseClient._make_api_call
    def recording(self, operation, params):
        made.append((self.meta.service_model.service_name, operation, params))
        return call(self, operation, params)
    botocore.client.BaseClient._make_api_call = recording
start, cpu = time.perf_counter(), time.process_time()
import {handler} as function
result = function.lambda_handler(event, context)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
assert not (result or {{}}).get("batchItemFailures"), result
if os.environ.get("P1_RECORD"):
    pickle.dump(made, open(os.environ["P1_RECORD"], "wb"))
print(f"P1_SECONDS={{elapsed}},{{cpu}}")
"""
_BASELINE = """
import json, os, pickle, time
from tests.lambda_context import FakeLambdaContext
event, context = json.load(open({event!r})), FakeLambdaContext()
made = pickle.load(open(os.environ["P1_REPLAY"], "rb"))
start, cpu = time.perf_counter(), time.process_time()
import boto3
from botocore import xform_name
from botocore.exceptions import ClientError
clients = {{service: boto3.client(service) for service in dict.fromkeys(s for s, _, _ in made)}}
for service, operation, params in made:
    try:
        getattr(clients[service], xform_name(operation))(**params)
    except ClientError:
        pass
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(f"P1_SECONDS={{elapsed}},{{cpu}}")
"""


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds, the window
    cpu: float  # seconds, the window
    process_cpu: float  # seconds, the whole process


def _time_once(code: str, pythonpath: str, env: dict[str, str], *, warm_up: bool = False) -> Sample:
    """Wall and CPU seconds of the process's import and first invocation, and the whole process's CPU.

    Every module's bytecode is read from PYCACHE, as Lambda reads the runtime's and the build's; a warm-up
    run writes what is missing there (a venv installed without bytecode would otherwise compile boto3 and
    botocore from source in every run, on both sides), and timed runs never write.
    """
    full_env = {**os.environ, **env, "PYTHONPATH": pythonpath, "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    if warm_up:
        PYCACHE.mkdir(parents=True, exist_ok=True)
        full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        full_env["PYTHONDONTWRITEBYTECODE"] = "1"
    before = _children_cpu()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate()
    # What the waited-for child used, every thread, from exec to exit (the moto server is never waited for).
    process_cpu = _children_cpu() - before
    marks = [line for line in stdout.splitlines() if line.startswith("P1_SECONDS=")]
    if proc.returncode != 0 or not marks:
        raise RuntimeError(f"P1 run failed ({proc.returncode}):\n{stdout[-2000:]}\n{stderr[-2000:]}")
    wall, cpu = marks[-1].split("=", 1)[1].split(",")
    return Sample(float(wall), float(cpu), process_cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def function_path(case: Case, *, built: bool) -> list[Path]:
    """Where the function's code comes from, in Lambda's order: the function, then the layer."""
    # The hub-mode layer is on the path where the tree still attaches it; it costs nothing unless imported.
    if built:
        layers = [BUILD / name / "python" for name in ("CommonLayer", "OrgLayer")]
        return [BUILD / _logical_id(case), *(layer for layer in layers if layer.is_dir())]
    layers = [REPO_ROOT / "layers" / name for name in ("groundskeeper", "org")]
    return [REPO_ROOT / "functions" / case.function_dir, *(layer for layer in layers if layer.is_dir())]


def _logical_id(case: Case) -> str:
    return next(logical_id for logical_id, each in CASES.items() if each is case)


def resolve_handler(candidates: tuple[str, ...], roots: list[Path]) -> str:
    """The first candidate module whose file exists under one of the roots."""
    for module in candidates:
        relative = Path(*module.split("."))
        for root in roots:
            if (root / f"{relative}.py").is_file() or (root / relative / "__init__.py").is_file():
                return module
    raise SystemExit(f"none of {', '.join(candidates)} exists under {', '.join(map(str, roots))}")


def _spread(values: list[float]) -> tuple[float, float]:
    """The interquartile range (the middle half), or the whole range for fewer than 4 values."""
    if len(values) < 4:
        return min(values), max(values)
    quartiles = statistics.quantiles(values, n=4)
    return quartiles[0], quartiles[2]


@dataclass(frozen=True)
class Measurement:
    logical_id: str
    handler: str
    services: tuple[str, ...]
    calls: tuple[str, ...]
    ours: list[Sample]
    base: list[Sample]

    def ratio(self, attr: str) -> float:
        ours: float = statistics.median(getattr(s, attr) for s in self.ours)
        base: float = statistics.median(getattr(s, attr) for s in self.base)
        return ours / base

    def pair_ratios(self, attr: str) -> list[float]:
        return [float(getattr(o, attr) / getattr(b, attr)) for o, b in zip(self.ours, self.base, strict=True)]


def measure(
    moto: MotoServer, logical_id: str, *, runs: int = RUNS, handler: str | None = None, built: bool = False
) -> Measurement:
    case = CASES[logical_id]
    roots = function_path(case, built=built)
    module = resolve_handler((handler,) if handler else case.handlers, roots)
    event = str(REPO_ROOT / "events" / case.event)
    ours_code = _OURS.format(event=event, handler=module)
    base_code = _BASELINE.format(event=event)
    # The function and layer first, as in Lambda; the repo root last, for the fake context only.
    ours_path = os.pathsep.join([*map(str, roots), str(REPO_ROOT)])

    def world() -> dict[str, str]:
        moto.reset()
        return {**COMMON_ENV, **case.env, **case.seed(moto), "AWS_ENDPOINT_URL": moto.endpoint}

    with tempfile.TemporaryDirectory(prefix="p1-") as tmp:
        recording = str(Path(tmp) / "calls.pickle")
        # One untimed run of each side first: ours records its AWS calls, and both write their bytecode and
        # warm the OS's file cache.
        _time_once(ours_code, ours_path, {**world(), "P1_RECORD": recording}, warm_up=True)
        with open(recording, "rb") as file:
            made = pickle.load(file)  # noqa: S301 - our own file, written just above
        _time_once(base_code, str(REPO_ROOT), {**world(), "P1_REPLAY": recording}, warm_up=True)
        ours: list[Sample] = []
        base: list[Sample] = []
        for _ in range(runs):  # interleaved, so machine noise hits both sides alike
            ours.append(_time_once(ours_code, ours_path, world()))
            base.append(_time_once(base_code, str(REPO_ROOT), {**world(), "P1_REPLAY": recording}))
    services = tuple(dict.fromkeys(service for service, _, _ in made))
    calls = tuple(f"{service}.{operation}" for service, operation, _ in made)
    return Measurement(logical_id, module, services, calls, ours, base)


def to_row(m: Measurement) -> dict[str, Any]:
    ours_cpu, base_cpu = (statistics.median(s.cpu for s in side) * 1000 for side in (m.ours, m.base))
    ours_ms, base_ms = (statistics.median(s.wall for s in side) * 1000 for side in (m.ours, m.base))
    low, high = _spread(m.pair_ratios("cpu"))
    return row(
        "P1",
        f"cold start + first invocation (batch of one), CPU, {m.logical_id}",
        ours_cpu,
        base_cpu,
        unit="ms",
        note=f"median of {len(m.ours)}, pairs' middle half {low:.2f}-{high:.2f}x; "
        f"whole process {m.ratio('process_cpu'):.2f}x; wall {ours_ms:.0f} vs {base_ms:.0f} ms; "
        f"{m.handler}; baseline = import boto3 + {', '.join(m.services)} clients + the same "
        f"{len(m.calls)} calls; goal <= 1.2x",
    )


def run(runs: int = RUNS, *, built: bool | None = None) -> list[dict[str, Any]]:
    """`make bench`'s rows: the built functions when `sam build` has run, else the source tree."""
    use_build = BUILD.is_dir() if built is None else built
    moto = MotoServer.spawn()
    try:
        return [to_row(measure(moto, logical_id, runs=runs, built=use_build)) for logical_id in CASES]
    finally:
        moto.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs per side (default {RUNS})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs per side")
    parser.add_argument("--built", action="store_true", help="run the sam build output (.aws-sam/build)")
    parser.add_argument("--only", action="append", choices=[case.name for case in CASES.values()])
    for case in CASES.values():
        parser.add_argument(f"--{case.name}-handler", metavar="MODULE", help=f"default: {case.handlers[0]}")
    args = parser.parse_args(argv)
    if args.built and not BUILD.is_dir():
        raise SystemExit("run `sam build` (make build) first, or leave out --built")
    runs = QUICK_RUNS if args.quick else args.runs
    moto = MotoServer.spawn()
    try:
        measurements = [
            measure(
                moto,
                logical_id,
                runs=runs,
                handler=getattr(args, f"{case.name}_handler"),
                built=args.built,
            )
            for logical_id, case in CASES.items()
            if not args.only or case.name in args.only
        ]
    finally:
        moto.stop()
    print(render([to_row(m) for m in measurements]))
    for m in measurements:
        print(f"{m.logical_id}: {' '.join(m.calls)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
