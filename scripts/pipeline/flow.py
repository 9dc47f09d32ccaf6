"""The end-to-end flow: provision a world, upload, audit, sweep, send, and collect the delivered emails."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

from scripts.pipeline.local_lambda import REPO_ROOT, LocalLambda, start_lambda
from scripts.pipeline.moto_server import MotoServer
from scripts.pipeline.org_demo import OrgJobRun, run_org_sweeps
from scripts.pipeline.sqs_events import delete, receive_batches, sqs_event
from scripts.pipeline.world import (
    ALLOWED_ORIGIN,
    EXEMPT_TAG,
    HOME_REGION,
    IDLE_TAG,
    OWNERS,
    SENDER,
    World,
    provision,
)

TEMPLATES_DIR = REPO_ROOT / "functions" / "email_sender" / "templates"
# Uploads as a typical producer makes them: threads for large files, multipart above 8 MiB.
TRANSFER_CONFIG = TransferConfig(multipart_threshold=8 * 1024 * 1024, max_concurrency=4, use_threads=True)


@dataclass
class DeliveredEmail:
    template: str
    to: list[str]
    subject: str
    html_path: Path
    text_path: Path


@dataclass
class FlowResult:
    world: World
    uploads: Counter[str] = field(default_factory=Counter)
    audited: list[dict[str, Any]] = field(default_factory=list)
    auditor_invocations: int = 0
    janitor_dry_run: dict[str, Any] = field(default_factory=dict)  # the preview, before the real run
    janitor_report: dict[str, Any] = field(default_factory=dict)
    sender_invocations: int = 0
    delivered: list[DeliveredEmail] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    address_states: dict[str, str] = field(default_factory=dict)
    send_requests: list[dict[str, str]] = field(default_factory=list)
    org_runs: list[OrgJobRun] = field(default_factory=list)  # one per job
    # When the run started (UTC): the prefix of its email files, so a file tells which run delivered it.
    started: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))


def function_env(moto: MotoServer, world: World) -> dict[str, dict[str, str]]:
    """The --env-vars document: every function talks to moto and to this world's queues and table."""
    common = {"AWS_ENDPOINT_URL": moto.container_endpoint, "POWERTOOLS_LOG_LEVEL": "WARNING"}
    notify = {"NOTIFY_QUEUE_URL": moto.for_container(world.email_queue_url), "NOTIFY_EMAIL": OWNERS}
    return {
        "CorsAuditorFunction": {
            **common,
            **notify,
            "ALLOWED_ORIGINS": ALLOWED_ORIGIN,
            "REMEDIATION": "off",
            "ACTION_JOURNAL_TABLE": world.action_journal_table,
        },
        "EmailSenderFunction": {
            **common,
            "SENDER_EMAIL": SENDER,
            "IDEMPOTENCY_TABLE": world.idempotency_table,
            "SES_CONFIGURATION_SET": "groundskeeper-local-email",
            "DEAD_LETTER_QUEUE_URL": moto.for_container(world.dead_letter_queue_url),
        },
        "EipJanitorFunction": {
            **common,
            **notify,
            "DRY_RUN": "false",
            "JANITOR_REGIONS": ",".join(world.regions),
            "GRACE_PERIOD_HOURS": "168",
            "DNS_GUARD": "on",
            "RUN_LEDGER_TABLE": world.idempotency_table,
            "ACTION_JOURNAL_TABLE": world.action_journal_table,
            "IDLE_TAG_KEY": IDLE_TAG,
            "EXEMPT_TAG_KEY": EXEMPT_TAG,
        },
    }


def publish_templates(moto: MotoServer) -> None:
    """Publish the bundled templates with the project's own sync command, as an operator would."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": HOME_REGION,
        "PYTHONPATH": f"{REPO_ROOT / 'layers/groundskeeper'}:{REPO_ROOT / 'functions/email_sender'}",
    }
    subprocess.run(
        [sys.executable, "-m", "email_sender.template_sync", "ensure"],
        env=env,
        check=True,
        capture_output=True,
        cwd=REPO_ROOT,
    )


def upload(moto: MotoServer, world: World, result: FlowResult, uploads_to_bad: int) -> None:
    s3 = moto.client("s3")
    plan = {
        world.good_bucket: 3,
        world.plain_bucket: 3,
        world.hostile_bucket: 1,
        world.bad_bucket: uploads_to_bad,
    }
    with tempfile.TemporaryDirectory() as scratch:
        for bucket, count in plan.items():
            for n in range(count):
                path = Path(scratch) / f"{bucket}-{n}.csv"
                path.write_text(f"day,visits\n{n},{n * 7}\n")
                # A space in the key arrives as "+" in the notification: the auditor must decode it.
                s3.upload_file(str(path), bucket, f"reports/day {n}.csv", Config=TRANSFER_CONFIG)
                result.uploads[bucket] += 1


def audit_notifications(moto: MotoServer, world: World, lam: LocalLambda, result: FlowResult) -> None:
    """The local stand-in for S3's notifications to the function: the buckets' notifications are collected
    in a queue, and each batch's records reach CorsAuditorFunction as one S3 notification (the shape S3
    sends, with fewer sam local round trips). S3's test event, which it sends to a queue only, is left out."""
    sqs = moto.client("sqs")
    for messages in receive_batches(sqs, world.notifications_queue_url):
        records = [r for m in messages for r in json.loads(m["Body"]).get("Records", [])]
        if records:
            report = lam.invoke("CorsAuditorFunction", {"Records": records})
            result.auditor_invocations += 1
            result.audited.extend(report.get("audited", []))
        delete(sqs, world.notifications_queue_url, messages)


def run_janitor(lam: LocalLambda, result: FlowResult) -> None:
    """As an operator starts: a dry run first (a manual invoke asking for one), whose report and email list
    each idle address with its release date; then the scheduled, real run."""
    result.janitor_dry_run = lam.invoke("EipJanitorFunction", {"dry_run": True})
    event = json.loads((REPO_ROOT / "events" / "schedule-eip-janitor.json").read_text())
    result.janitor_report = lam.invoke("EipJanitorFunction", event)


def drain_email_queue(moto: MotoServer, world: World, lam: LocalLambda, result: FlowResult) -> None:
    """Deliver like the SQS event source: delete what succeeded, leave batchItemFailures for a retry."""
    sqs = moto.client("sqs")
    moto.start_recording()  # the exact SendEmail requests, text part included (see collect_delivered)
    try:
        for messages in receive_batches(sqs, world.email_queue_url, idle_polls=3):
            response = lam.invoke("EmailSenderFunction", sqs_event(messages, world.email_queue_url))
            result.sender_invocations += 1
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
            delete(sqs, world.email_queue_url, [m for m in messages if m["MessageId"] not in failed])
    finally:
        result.send_requests = [r for r in moto.stop_recording() if r.get("Action") == "SendEmail"]


def clear_emails(out_dir: Path) -> None:
    """Empties the email folder at a run's start, so that it holds this run's emails only (as many as the
    run says it delivered), never an earlier run's."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)


def collect_delivered(result: FlowResult, out_dir: Path) -> None:
    """Every email the sender asked SES to send, both parts as sent, from the recorded SendEmail requests.
    Each file is `<run start>-<delivery order>-<template>`: one run's emails sort together.

    moto keeps only one body of a SendEmail (the HTML one), so its own state cannot show the text part; the
    recorder has the request itself. The template's name is not in the request: the subject tells it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for n, request in enumerate(result.send_requests, start=1):
        subject = request.get("Message.Subject.Data", "")
        template = _template_of(subject)
        stem = f"{result.started}-{n:02d}-{template}"
        html_path = out_dir / f"{stem}.html"
        text_path = out_dir / f"{stem}.txt"
        html_path.write_text(request.get("Message.Body.Html.Data", ""), encoding="utf-8")
        text_path.write_text(request.get("Message.Body.Text.Data", ""), encoding="utf-8")
        to = [value for key, value in sorted(request.items()) if key.startswith("Destination.ToAddresses.")]
        delivered = DeliveredEmail(template, to, subject, html_path=html_path, text_path=text_path)
        result.delivered.append(delivered)


def _template_of(subject: str) -> str:
    """The bundled template whose subject line renders as `subject` ("unknown" when none does). A block
    (`{{#if x}}...{{/if}}`) may render as any of its branches, so it matches anything, as a variable does."""
    for folder in sorted(TEMPLATES_DIR.iterdir()):
        source = (folder / "subject.txt").read_text(encoding="utf-8").strip()
        source = re.sub(r"\{\{#(\w+).*?\{\{/\1\}\}", "{{block}}", source)
        pieces = re.split(r"\{\{.*?\}\}", source)
        if re.fullmatch(".*".join(map(re.escape, pieces)), subject, re.DOTALL):
            return folder.name
    return "unknown"


def collect_dead_letters(moto: MotoServer, world: World, result: FlowResult) -> None:
    sqs = moto.client("sqs")
    for messages in receive_batches(sqs, world.dead_letter_queue_url, idle_polls=1):
        result.dead_letters.extend(messages)


def collect_address_states(moto: MotoServer, world: World, result: FlowResult) -> None:
    for region in world.regions:
        for address in moto.client("ec2", region).describe_addresses()["Addresses"]:
            tags = {tag["Key"]: tag["Value"] for tag in address.get("Tags", [])}
            state = "associated" if address.get("AssociationId") else "idle"
            result.address_states[address["AllocationId"]] = f"{state}, idle tag: {IDLE_TAG in tags}"


def run_flow(moto: MotoServer, *, uploads_to_bad: int, out_dir: Path) -> FlowResult:
    clear_emails(out_dir / "emails")
    moto.reset()
    world = provision(moto.client)
    result = FlowResult(world=world)
    publish_templates(moto)
    upload(moto, world, result, uploads_to_bad)
    env = function_env(moto, world)
    # The cross-account runs first, in hub mode, in a session of their own (scripts/pipeline/org_demo.py);
    # their emails wait in the queue for the sender below.
    result.org_runs = run_org_sweeps(moto, world, env, out_dir / "sam-hub")
    with start_lambda(env, out_dir / "sam") as lam:
        audit_notifications(moto, world, lam, result)
        run_janitor(lam, result)
        drain_email_queue(moto, world, lam, result)
    collect_delivered(result, out_dir / "emails")
    collect_dead_letters(moto, world, result)
    collect_address_states(moto, world, result)
    return result
