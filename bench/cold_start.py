"""P1: cold start of each built function (handler import + clients) as a ratio to boto3 + the same clients."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD = REPO_ROOT / ".aws-sam" / "build"
RUNS = 9

# logical id -> (handler module, clients it creates, the environment its settings need at cold start)
FUNCTIONS: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "CorsAuditorFunction": (
        "cors_auditor.handler",
        ("s3", "sqs"),
        {"POWERTOOLS_SERVICE_NAME": "cors-auditor"},
    ),
    "EmailSenderFunction": (
        "email_sender.handler",
        ("ses", "sqs", "dynamodb"),
        {
            "POWERTOOLS_SERVICE_NAME": "email-sender",
            "SENDER_EMAIL": "groundskeeper@example.com",
            "IDEMPOTENCY_TABLE": "bench-idempotency",
            "DEAD_LETTER_QUEUE_URL": "http://127.0.0.1:1/123456789012/bench-dlq",
        },
    ),
    "EipJanitorFunction": ("eip_janitor.handler", ("ec2", "sqs"), {"POWERTOOLS_SERVICE_NAME": "eip-janitor"}),
}

_TIMER = """
import time
start = time.perf_counter()
{body}
print(time.perf_counter() - start)
"""


def _time_once(body: str, pythonpath: str, env: dict[str, str]) -> float:
    proc = subprocess.run(
        [sys.executable, "-c", _TIMER.format(body=body)],
        env={**os.environ, **env, "PYTHONPATH": pythonpath, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(proc.stdout.strip().splitlines()[-1])


def measure(logical_id: str) -> dict[str, Any]:
    module, services, extra_env = FUNCTIONS[logical_id]
    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_NAMESPACE": "Groundskeeper",
        **extra_env,
    }
    ours_body = f"import {module}\nfrom groundskeeper.aws_clients import client\n" + "".join(
        f"client({s!r})\n" for s in services
    )
    base_body = "import boto3\n" + "".join(f"boto3.client({s!r})\n" for s in services)
    pythonpath = f"{BUILD / logical_id}:{BUILD / 'CommonLayer' / 'python'}"
    ours, base = [], []
    for _ in range(RUNS):  # interleaved, so machine noise hits both sides alike
        ours.append(_time_once(ours_body, pythonpath, env))
        base.append(_time_once(base_body, "", env))
    ours_ms, base_ms = statistics.median(ours) * 1000, statistics.median(base) * 1000
    return {
        "id": "P1",
        "figure": f"cold start {logical_id}",
        "ours": ours_ms,
        "baseline": base_ms,
        "ratio": ours_ms / base_ms,
        "unit": "ms",
        "note": f"median of {RUNS}; baseline = import boto3 + {', '.join(services)} clients; goal <= 1.2x",
    }


def run() -> list[dict[str, Any]]:
    if not BUILD.is_dir():
        raise SystemExit("run `sam build` (make build) first: P1 measures the built functions")
    return [measure(logical_id) for logical_id in FUNCTIONS]


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
