"""Benchmarks of the email sender: messages per second through the handler vs a naive sender.

Run: `python -m bench.email_sender [--in-process-moto]` (from the repo root). Both sides send the same
messages to the same moto server, reset and reseeded in between; every ratio's baseline is measured in the
same run. P3 (30 ms simulated round trip on every call, both sides) is the figure that matters; P3-raw is
CPU-bound on moto, where concurrency cannot show (docs/email-sender.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.harness import RTT, answer_send_quota, environment, instrument, row
from scripts.pipeline.moto_server import MotoServer
from tests.lambda_context import FakeLambdaContext

MESSAGES = 300
DELAYED_MESSAGES = 100  # with the delay each side needs seconds per 100 messages
BATCH = 10  # the event source mapping's BatchSize
# What GetSendQuota tells the sender here: far above what moto can take, so that these rows measure the
# sender's own speed. bench/ses_rate.py measures sending under a quota.
UNLIMITED_SEND_RATE = 100_000.0
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
    "SES_CONFIGURATION_SET": "bench-email",
    "IDEMPOTENCY_TTL_SECONDS": "345600",
    "DEAD_LETTER_QUEUE_URL": "http://127.0.0.1/123456789012/bench-dlq",  # replaced once moto runs
    "TEMPLATE_CACHE_SECONDS": "300",
    "SEND_CONCURRENCY": "10",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def seed_world(moto: MotoServer) -> str:
    """An empty world with a verified sender, the idempotency table, the DLQ and published templates."""
    from email_sender.template_sync import ensure

    moto.reset()
    moto.client("ses").verify_email_identity(EmailAddress=SENDER)
    moto.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ensure(moto.client("ses"))
    return str(moto.client("sqs").create_queue(QueueName="bench-dlq")["QueueUrl"])


def sent(moto: MotoServer) -> list[dict[str, Any]]:
    """Every email SES recorded: the handler's rendered ones (SendEmail) and the naive templated ones."""
    state = moto.state().get("ses", {})
    messages: list[dict[str, Any]] = state.get("Message", []) + state.get("TemplateMessage", [])
    return messages


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


def sqs_events(messages: list[str], first: int = 0) -> list[dict[str, Any]]:
    """The messages as SQS events of BATCH records; message ids count from `first`."""
    records = [
        {
            "messageId": f"00000000-0000-0000-0000-{first + i:012d}",
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


def handler_clients(sender: Any) -> tuple[list[Any], list[Any]]:
    """(every client of a built EmailSender, its SES clients), each client once.

    Read from the sender itself, so that a hook lands on the client that really sends (a single-attempt
    client of its own, as deployed) as well as on the one that reads the quota and the templates.
    """
    every = list({id(c): c for c in (sender.ses, sender.send_ses, sender.sqs, sender.dynamodb)}.values())
    ses = list({id(c): c for c in (sender.ses, sender.send_ses)}.values())
    return every, ses


class NoRecords:
    """The sender's idempotency records with every write left out: what the three DynamoDB writes cost."""

    def key(self, idempotency_key: str) -> str:
        return idempotency_key

    def claim(self, *_: Any, **__: Any) -> None:
        return None  # claimed: deliver

    def mark_send_started(self, *_: Any, **__: Any) -> None:
        return None

    def complete(self, *_: Any, **__: Any) -> None:
        return None

    def release(self, *_: Any, **__: Any) -> None:
        return None


def run_ours(
    moto: MotoServer,
    messages: list[str],
    delay: float,
    *,
    idempotency: bool = True,
    concurrency: int | None = None,
) -> tuple[Counter[str], float, float]:
    """The real handler, decorators and all, in one warm container: (AWS calls, seconds, server CPU s).

    SEND_CONCURRENCY is the template's default unless `concurrency` is given.
    """
    from email_sender import handler
    from email_sender.settings import Settings
    from groundskeeper.aws_clients import reset_clients
    from groundskeeper.observability import logger

    dlq = seed_world(moto)
    reset_clients()
    overrides = {"DEAD_LETTER_QUEUE_URL": dlq}
    if concurrency is not None:
        overrides["SEND_CONCURRENCY"] = str(concurrency)
    # A new container: settings, clients, template cache and pacer, as at a cold start.
    handler.SETTINGS = Settings.from_env({**os.environ, **overrides})
    handler.SENDER = handler.build_sender(handler.SETTINGS)
    if not idempotency:
        handler.SENDER.records = NoRecords()  # type: ignore[assignment]
    every, ses_clients = handler_clients(handler.SENDER)
    for ses in ses_clients:
        answer_send_quota(ses, UNLIMITED_SEND_RATE)
    calls: Counter[str] = Counter()
    for aws in every:
        instrument(aws, calls, delay)
    events, context, level = sqs_events(messages), FakeLambdaContext(), logger.log_level
    logger.setLevel("WARNING")  # time the sender, not the terminal
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the EMF blobs
            server_cpu, start = moto.cpu_seconds(), time.perf_counter()
            for event in events:
                assert handler.lambda_handler(event, context) == {"batchItemFailures": []}
            elapsed = time.perf_counter() - start
            server_cpu = moto.cpu_seconds() - server_cpu
    finally:
        logger.setLevel(level)
        reset_clients()
    assert len(sent(moto)) == len(messages)
    # Every send went through an instrumented client (with its round trip), or the figures are wrong.
    assert calls["SendEmail"] == len(messages), calls
    return calls, elapsed, server_cpu


def run_naive(moto: MotoServer, messages: list[str], delay: float) -> tuple[Counter[str], float, float]:
    """The naive sender: a new client per message, sequential send_templated_email, no checks."""
    import boto3

    seed_world(moto)
    calls: Counter[str] = Counter()
    server_cpu, start = moto.cpu_seconds(), time.perf_counter()
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
    server_cpu = moto.cpu_seconds() - server_cpu
    assert len(sent(moto)) == len(messages)
    return calls, elapsed, server_cpu


def run_bulk_vs_single(moto: MotoServer, delay: float, batches: int = 10) -> tuple[float, float, float]:
    """SES calls only, per batch of BATCH emails: one SendBulkTemplatedEmail, BATCH SendTemplatedEmail at
    once (as the handler sends them), and BATCH one after another: (bulk, concurrent, sequential) seconds."""
    seed_world(moto)
    ses = moto.client("ses")
    instrument(ses, Counter(), delay)
    data = [json.dumps({"name": f"User {i}", "product": "Groundskeeper"}) for i in range(BATCH)]

    def single(i: int) -> None:
        ses.send_templated_email(
            Source=SENDER,
            Destination={"ToAddresses": [f"user{i}@example.com"]},
            Template=TEMPLATE,
            TemplateData=data[i],
        )

    start = time.perf_counter()
    for _ in range(batches):
        for i in range(BATCH):
            single(i)
    sequential = time.perf_counter() - start
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=BATCH) as pool:
        for _ in range(batches):
            list(pool.map(single, range(BATCH)))
    concurrent = time.perf_counter() - start
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
    return bulk, concurrent, sequential


def measure(moto: MotoServer) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    concurrency = TEMPLATE_ENV["SEND_CONCURRENCY"]
    for id_, delay, count in (("P3-raw", 0.0, MESSAGES), ("P3", RTT, DELAYED_MESSAGES)):
        messages = bodies(count)
        label = f"{delay * 1000:.0f} ms simulated round trip" if delay else "raw moto"
        ours_calls, ours_time, ours_server_cpu = run_ours(moto, messages, delay)
        ours_server_ms = ours_server_cpu / count * 1000
        naive_calls, naive_time, naive_server_cpu = run_naive(moto, messages, delay)
        naive_server_ms = naive_server_cpu / count * 1000
        # moto handles one request at a time per process: its CPU per email caps what any client gets.
        ceiling = f"; moto's CPU per email {ours_server_ms:.1f} vs {naive_server_ms:.1f} ms" + (
            f", so here ours can't beat ~{1000 / ours_server_ms:.0f} msg/s" if ours_server_ms else ""
        )
        rows.append(
            row(
                id_,
                f"messages/s, {count} messages in batches of {BATCH} ({label})",
                count / ours_time,
                count / naive_time,
                unit="msg/s",
                note=f"handler (validate, dedupe, check template, send; SEND_CONCURRENCY={concurrency}) vs "
                f"new client + send per message, sequential{ceiling if ours_server_ms else ''}",
            )
        )
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
            continue
        _, no_idem_time, _ = run_ours(moto, messages, delay, idempotency=False)
        rows.append(
            row(
                "EMAIL4",
                f"messages/s without idempotency ({label})",
                count / no_idem_time,
                count / naive_time,
                unit="msg/s",
                note="no idempotency record (claim, send mark, completion): the 3 DynamoDB writes cost "
                f"{(ours_time - no_idem_time) / count * 1000:.1f} ms per email of ours "
                f"({count / ours_time:.1f} vs {count / no_idem_time:.1f} msg/s)",
            )
        )
        _, sequential_time, _ = run_ours(moto, messages, delay, concurrency=1)
        rows.append(
            row(
                "EMAIL6",
                f"messages/s with SEND_CONCURRENCY=1, one record after another ({label})",
                count / sequential_time,
                count / naive_time,
                unit="msg/s",
                note=f"what concurrency buys: {concurrency} at once is "
                f"{sequential_time / ours_time:.1f}x this",
            )
        )
    batches = 10
    bulk, concurrent, sequential = run_bulk_vs_single(moto, RTT, batches)
    rows.append(
        row(
            "EMAIL5",
            f"SES time for {batches * BATCH} emails: bulk (batches of {BATCH}) vs {BATCH} single sends at "
            f"once ({RTT * 1000:.0f} ms)",
            bulk,
            concurrent,
            unit="s",
            note=f"single sends one after another took {sequential:.2f} s; the handler already sends a "
            "batch at once, so a bulk path would save little; not implemented",
        )
    )
    return rows


def run(*, in_process: bool = False) -> list[dict[str, Any]]:
    moto = MotoServer.spawn(in_process=in_process)
    try:
        with environment({**TEMPLATE_ENV, "AWS_ENDPOINT_URL": moto.endpoint}):
            return measure(moto)
    finally:
        moto.stop()


if __name__ == "__main__":
    from bench.table import render

    print(render(run(in_process="--in-process-moto" in sys.argv[1:])))
