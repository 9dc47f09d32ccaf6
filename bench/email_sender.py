"""Benchmarks of the email sender: messages per second through the handler vs a naive seed-style sender.

Run: `python -m bench.email_sender` (from the repo root). Both sides send the same messages to the same
moto server, reset and reseeded in between; every ratio's baseline is measured in the same run.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import time
import urllib.request
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in ("layers/groundskeeper", "functions/email_sender"):
    if str(ROOT / _path) not in sys.path:
        sys.path.insert(0, str(ROOT / _path))

MESSAGES = 300
DELAYED_MESSAGES = 100  # with the delay each side needs seconds per 100 messages
BATCH = 10  # the event source mapping's BatchSize
RTT = 0.030  # a typical in-region AWS round trip, added to every call on both sides
SENDER = "groundskeeper@example.com"
TABLE = "bench-idempotency"
TEMPLATE = "example-welcome"
# The environment template.yaml gives the function (defaults of its parameters).
TEMPLATE_ENV = {
    "POWERTOOLS_SERVICE_NAME": "email-sender",
    "POWERTOOLS_METRICS_NAMESPACE": "Groundskeeper",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "SENDER_EMAIL": SENDER,
    "IDEMPOTENCY_TABLE": TABLE,
    "IDEMPOTENCY_TTL_SECONDS": "345600",
    "DEAD_LETTER_QUEUE_URL": "http://127.0.0.1/123456789012/bench-dlq",  # replaced once moto runs
    "TEMPLATE_CACHE_SECONDS": "300",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@dataclass
class FakeContext:
    function_name: str = "bench-email-sender"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bench-email-sender"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def instrument(client: Any, calls: Counter[str], delay: float) -> None:
    """Count API calls (not retries) and add a simulated round trip before every request."""
    service = client.meta.service_model.service_name
    client.meta.events.register(f"before-call.{service}", lambda model, **_: calls.update([model.name]))
    if delay:
        client.meta.events.register(f"before-send.{service}", lambda **_: time.sleep(delay))


class Moto:
    """A ThreadedMotoServer plus what each run needs: reset, seed, and what SES recorded."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def client(self, service: Any) -> Any:
        import boto3

        return boto3.client(service, region_name="us-east-1", endpoint_url=self.endpoint)

    def reset_and_seed(self) -> str:
        """An empty world with a verified sender, the idempotency table, the DLQ and published templates."""
        from email_sender.template_sync import ensure

        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()
        self.client("ses").verify_email_identity(EmailAddress=SENDER)
        self.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ensure(self.client("ses"))
        return str(self.client("sqs").create_queue(QueueName="bench-dlq")["QueueUrl"])

    def sent(self) -> int:
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=30) as response:
            return len(json.load(response).get("ses", {}).get("TemplateMessage", []))

    def stop(self) -> None:
        self.server.stop()


def bodies(count: int) -> list[str]:
    from groundskeeper.notify import email_request

    return [
        json.dumps(
            email_request(
                TEMPLATE,
                [f"user{i}@example.com"],
                {"name": f"User {i}", "product": "Groundskeeper"},
                idempotency_key=f"bench-welcome-{i}",
            )
        )
        for i in range(count)
    ]


def sqs_events(messages: list[str]) -> list[dict[str, Any]]:
    records = [
        {
            "messageId": f"00000000-0000-0000-0000-{i:012d}",
            "receiptHandle": "bench",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench-email-queue",
            "awsRegion": "us-east-1",
        }
        for i, body in enumerate(messages)
    ]
    return [{"Records": records[i : i + BATCH]} for i in range(0, len(records), BATCH)]


def run_ours(
    moto: Moto, messages: list[str], delay: float, *, idempotency: bool = True
) -> tuple[Counter[str], float]:
    """The real handler, decorators and all, in one warm container: (AWS calls, seconds)."""
    from email_sender import handler
    from email_sender.settings import Settings
    from email_sender.template_store import TemplateStore
    from groundskeeper.aws_clients import client, reset_clients
    from groundskeeper.observability import logger

    dlq = moto.reset_and_seed()
    reset_clients()
    handler.SETTINGS = Settings.from_env({**os.environ, "DEAD_LETTER_QUEUE_URL": dlq})
    handler.TEMPLATES = TemplateStore(handler.SETTINGS.template_cache_seconds)
    calls: Counter[str] = Counter()
    for service in ("ses", "sqs", "dynamodb"):
        instrument(client(service), calls, delay)
    events, context, level = sqs_events(messages), FakeContext(), logger.log_level
    logger.setLevel("WARNING")  # time the sender, not the terminal
    disabled = {} if idempotency else {"POWERTOOLS_IDEMPOTENCY_DISABLED": "true"}
    try:
        with (
            environment(disabled),
            warnings.catch_warnings(action="ignore"),  # Powertools warns that disabling is for dev only
            contextlib.redirect_stdout(io.StringIO()),  # the EMF blobs
        ):
            start = time.perf_counter()
            for event in events:
                assert handler.lambda_handler(event, context) == {"batchItemFailures": []}
            elapsed = time.perf_counter() - start
    finally:
        logger.setLevel(level)
        reset_clients()
    assert moto.sent() == len(messages)
    return calls, elapsed


def run_naive(moto: Moto, messages: list[str], delay: float) -> tuple[Counter[str], float]:
    """The seeds' style: a new client per message, sequential send_templated_email, no checks."""
    import boto3

    moto.reset_and_seed()
    calls: Counter[str] = Counter()
    start = time.perf_counter()
    for event in sqs_events(messages):
        for record in event["Records"]:
            request = json.loads(record["body"])
            ses = boto3.client("ses", region_name="us-east-1")  # honours AWS_ENDPOINT_URL
            instrument(ses, calls, delay)
            ses.send_templated_email(
                Source=request.get("from", SENDER),
                Destination={"ToAddresses": request["to"]},
                Template=request["template"],
                TemplateData=json.dumps(request["data"]),
            )
    elapsed = time.perf_counter() - start
    assert moto.sent() == len(messages)
    return calls, elapsed


def run_bulk_vs_single(moto: Moto, delay: float, batches: int = 10) -> tuple[float, float]:
    """SES calls only: one SendBulkTemplatedEmail of BATCH destinations vs BATCH SendTemplatedEmail."""
    moto.reset_and_seed()
    ses = moto.client("ses")
    instrument(ses, Counter(), delay)
    data = [json.dumps({"name": f"User {i}", "product": "Groundskeeper"}) for i in range(BATCH)]
    start = time.perf_counter()
    for _ in range(batches):
        for i in range(BATCH):
            ses.send_templated_email(
                Source=SENDER,
                Destination={"ToAddresses": [f"user{i}@example.com"]},
                Template=TEMPLATE,
                TemplateData=data[i],
            )
    single = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(batches):
        ses.send_bulk_templated_email(
            Source=SENDER,
            Template=TEMPLATE,
            DefaultTemplateData="{}",
            Destinations=[
                {"Destination": {"ToAddresses": [f"user{i}@example.com"]}, "ReplacementTemplateData": data[i]}
                for i in range(BATCH)
            ],
        )
    bulk = time.perf_counter() - start
    return bulk, single


def row(
    id_: str, figure: str, ours: float, baseline: float | None, *, unit: str, note: str
) -> dict[str, Any]:
    return {
        "id": id_,
        "figure": figure,
        "ours": round(ours, 4),
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": round(ours / baseline, 4) if baseline else None,
        "unit": unit,
        "note": note,
    }


def measure(moto: Moto) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    delayed_rate = 0.0
    for id_, delay, count in (("EMAIL1", 0.0, MESSAGES), ("EMAIL2", RTT, DELAYED_MESSAGES)):
        messages = bodies(count)
        label = f"{delay * 1000:.0f} ms simulated round trip" if delay else "raw moto"
        ours_calls, ours_time = run_ours(moto, messages, delay)
        naive_calls, naive_time = run_naive(moto, messages, delay)
        rows.append(
            row(
                id_,
                f"messages/s, {count} messages in batches of {BATCH} ({label})",
                count / ours_time,
                count / naive_time,
                unit="msg/s",
                note="handler (validate, dedupe in DynamoDB, check template, send) vs new client + send "
                "per message; ratio > 1 = ours faster",
            )
        )
        if delay:
            delayed_rate = count / ours_time
        if not delay:
            per_email = sum(ours_calls.values()) / count
            dynamo = (ours_calls["PutItem"] + ours_calls["UpdateItem"]) / count
            rows.append(
                row(
                    "EMAIL3",
                    "AWS calls per delivered email",
                    per_email,
                    sum(naive_calls.values()) / count,
                    unit="calls",
                    note=f"ours: {dynamo:.2f} DynamoDB idempotency writes + 1 send + "
                    f"{ours_calls['GetTemplate'] / count:.3f} GetTemplate (cached per container)",
                )
            )
        else:
            _, no_idem_time = run_ours(moto, messages, delay, idempotency=False)
            rows.append(
                row(
                    "EMAIL4",
                    f"messages/s without idempotency ({label})",
                    count / no_idem_time,
                    count / naive_time,
                    unit="msg/s",
                    note=f"POWERTOOLS_IDEMPOTENCY_DISABLED: the 2 DynamoDB writes cost "
                    f"{(ours_time - no_idem_time) / count * 1000:.0f} ms per email of ours",
                )
            )
    batches = 10
    bulk, single = run_bulk_vs_single(moto, RTT, batches)
    saved_per_email = (single - bulk) / (batches * BATCH)
    projected = 1 / (1 / delayed_rate - saved_per_email)
    rows.append(
        row(
            "EMAIL5",
            f"SES time for {batches * BATCH} emails: bulk (batches of {BATCH}) vs single sends "
            f"({RTT * 1000:.0f} ms)",
            bulk,
            single,
            unit="s",
            note=f"the most a bulk path could save: EMAIL2 would go {delayed_rate:.1f} -> <= "
            f"{projected:.1f} msg/s; SES's rate limit counts recipients, so not implemented",
        )
    )
    return rows


def run() -> list[dict[str, Any]]:
    moto = Moto()
    try:
        with environment({**TEMPLATE_ENV, "AWS_ENDPOINT_URL": moto.endpoint}):
            return measure(moto)
    finally:
        moto.stop()


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
