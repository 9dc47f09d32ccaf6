"""The action soak: a fault injected right after every kind of side effect, then the retry or redelivery
that Lambda or SQS makes, through the real handlers under in-process moto. Each suite counts the side
effects made (`acted`) and checks that each reaches exactly one email, as the email sender would send them
(requests with the same idempotency key are one email: the sender keeps the first), and the report of the
run's last attempt. Columns (docs/soak.md, "The action soak"):

- tried: cases (one fault, the attempts that follow it, the checks);
- acted: side effects made (a CORS rewrite, an address release, an email SES accepted);
- reported: acted ones that reached exactly one email;
- lost: acted ones in no email (for the sender: a request never sent);
- duplicated: an action in two emails (two idempotency keys), or an email SES accepted twice;
- unreported: acted ones that the run's own report (the last attempt's result, the account's stored part,
  the sender's DLQ verdict) does not state as done.

The suites: rewrite (the auditor's sweep), release (the janitor), part write (a hub worker), report send
(the run's email fails once after the actions), send mark (the email sender).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import moto
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from cors_auditor import warm_state
from cors_auditor.handlers import org_work as auditor_worker
from cors_auditor.handlers import sweep
from cors_auditor.settings import Settings as AuditSettings
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from eip_janitor.handlers import schedule
from eip_janitor.settings import Settings as JanitorSettings
from groundskeeper.aws_clients import client, reset_clients, single_attempt_client
from groundskeeper.notify import Notifier
from groundskeeper.observability import logger
from groundskeeper_org.runs import RunParts
from tests.conftest import load_event
from tests.integration.cors_auditor.conftest import GOOD, JOURNAL_TABLE, WILDCARD_WRITE, create_journal_table
from tests.integration.org.conftest import ALLOWED, TABLE, _create_runs_table, member_client, seed_member
from tests.integration.org.test_hub_handlers import org, use, work_record
from tests.lambda_context import FakeLambdaContext
from tests.soak import test_sender_soak as sender_soak
from tests.soak.report import ActionTally, Tally, publish, seed, size

SWEEP_EVENT = "schedule-cors-sweep.json"
JANITOR_EVENT = "schedule-eip-janitor.json"
IDLE = "groundskeeper:idle-since"
LEDGER = "idempotency"
ATTEMPTS = 3  # Lambda's async invocation: the first attempt and 2 retries; the work queue's maxReceiveCount
MIXED = {"CORSRules": [*WILDCARD_WRITE["CORSRules"], *GOOD["CORSRules"]]}
BAD_CORS = {"CORSRules": [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["*"]}]}
_RELEASED_ID = re.compile(r"eipalloc-[0-9a-f]+")


class InjectedCrash(Exception):
    """The invocation dies here (a timeout, an out-of-memory kill, a lost response): Lambda retries."""


def refusal(code: str, status: int = 503) -> tuple[AWSResponse, dict[str, Any]]:
    """A `before-call` answer: botocore takes it as the service's, and moto never carries the call out."""
    return AWSResponse("https://aws.example/", status, {}, None), {  # type: ignore[arg-type]
        "Error": {"Code": code, "Message": f"{code} (injected)"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


@contextlib.contextmanager
def fresh_account() -> Iterator[None]:
    """An empty in-process moto account per case, with the layer's cached clients made anew."""
    reset_clients()
    with moto.mock_aws():
        yield
    reset_clients()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    level = logger.log_level
    logger.setLevel("CRITICAL")  # thousands of injected failures, each logged, say nothing here
    try:
        yield
    finally:
        logger.setLevel(level)


def drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def as_sent(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The emails the sender would send: one per idempotency key, the first request to arrive."""
    seen: dict[str, dict[str, Any]] = {}
    for n, request in enumerate(requests):
        seen.setdefault(str(request.get("idempotency_key") or f"unkeyed-{n}"), request)
    return list(seen.values())


def account_for(  # noqa: PLR0917 - one case's whole accounting
    tally: ActionTally,
    case: str,
    kind: str,
    acted: Iterable[str],
    emails: list[dict[str, Any]],
    named: Callable[[dict[str, Any]], set[str]],
    reported_by_run: set[str],
) -> None:
    """Each action: in exactly one email (reported), in none (lost), in two or more (duplicated); and in
    the run's own report (else unreported)."""
    sent = as_sent(emails)
    for action in sorted(set(acted)):
        tally.acted += 1
        found = sum(action in named(email) for email in sent)
        if found == 0:
            tally.fail("lost", f"{case}: {action} is in no email")
            tally.note(f"lost after: {kind}")
        elif found > 1:
            tally.fail("duplicated", f"{case}: {action} is in {found} emails")
            tally.note(f"duplicated after: {kind}")
        else:
            tally.reported += 1
        if action not in reported_by_run:
            tally.fail("unreported", f"{case}: {action} is not in the run's report")
            tally.note(f"unreported after: {kind}")


class Once:
    """A fault that fires once per case, after the `after`-th action."""

    def __init__(self, kind: str, after: int) -> None:
        self.kind, self.after, self.fired, self.actions = kind, after, False, 0
        self.lock = threading.Lock()

    def acted(self) -> bool:
        """Count an action; True when the fault is due now (right after this one)."""
        with self.lock:
            self.actions += 1
            return self.armed()

    def armed(self) -> bool:
        return not self.fired and self.actions >= self.after

    def fire(self) -> bool:
        with self.lock:
            if not self.armed():
                return False
            self.fired = True
            return True


# --- rewrite: the auditor's sweep with REMEDIATION=fix -------------------------------------------------

REWRITE_FAULTS = (
    "crash after the rewrite",
    "journal outcome fails",
    "email queue fails",
    "next bucket fails",
)


def install_rewrite_faults(fault: Once, acted: list[str]) -> None:
    s3, dynamodb, sqs = client("s3"), client("dynamodb"), client("sqs")

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bucket"] = params.get("Bucket")

    def made(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code >= 300:
            return
        acted.append(str(context["bucket"]))
        if fault.acted() and fault.kind == "crash after the rewrite" and fault.fire():
            raise InjectedCrash("the invocation died right after the rewrite")

    def refuse_when(kind: str, code: str) -> Callable[..., Any]:
        def hook(**_: Any) -> Any:
            return refusal(code) if fault.kind == kind and fault.fire() else None

        return hook

    for operation in ("PutBucketCors", "DeleteBucketCors"):
        s3.meta.events.register(f"before-parameter-build.s3.{operation}", remember)
        s3.meta.events.register(f"after-call.s3.{operation}", made)
    dynamodb.meta.events.register(
        "before-call.dynamodb.UpdateItem", refuse_when("journal outcome fails", "ServiceUnavailable")
    )
    sqs.meta.events.register(
        "before-call.sqs.SendMessage", refuse_when("email queue fails", "ServiceUnavailable")
    )
    for operation in ("GetBucketCors", "PutBucketCors", "DeleteBucketCors"):
        s3.meta.events.register(
            f"before-call.s3.{operation}", refuse_when("next bucket fails", "InternalError")
        )


def run_with_retries(
    invoke: Callable[[], dict[str, Any]], new_container: Callable[[], None]
) -> dict[str, Any] | None:
    """Lambda's async invocation: up to ATTEMPTS, each retry in a new container. The last success's result."""
    for attempt in range(ATTEMPTS):
        if attempt:
            new_container()
        try:
            return invoke()
        except Exception:  # noqa: BLE001, S112 - each failure is what Lambda retries
            continue
    return None


def auditor_case(
    rng: random.Random,
    n: int,
    tally: ActionTally,
    monkeypatch: pytest.MonkeyPatch,
    *,
    fault_kind: str,
    install: Callable[[Once, list[str]], None] = install_rewrite_faults,
) -> None:
    with fresh_account():
        s3 = boto3.client("s3", region_name="us-east-1")
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="email")["QueueUrl"]
        create_journal_table()
        names = [f"case{n}-b{i}" for i in range(rng.randint(1, 5))]
        for name in names:
            s3.create_bucket(Bucket=name)
            cors: Any = rng.choice((WILDCARD_WRITE, MIXED, MIXED, GOOD))
            s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors)
        if not any(s3.get_bucket_cors(Bucket=b)["CORSRules"] != GOOD["CORSRules"] for b in names):
            mixed: Any = MIXED
            s3.put_bucket_cors(Bucket=names[0], CORSConfiguration=mixed)
        settings = AuditSettings(
            remediation="fix",
            journal_table=JOURNAL_TABLE,
            notify=Notifier(queue, ("ops@example.com",)),
            audit_cache_seconds=0,
            sweep_concurrency=1,
        )
        monkeypatch.setattr(warm_state, "SETTINGS", settings)

        def new_container() -> None:
            monkeypatch.setattr(warm_state, "VERDICTS", VerdictCache())
            monkeypatch.setattr(warm_state, "NOTIFIED", SeenKeys())

        new_container()
        to_fix = sum(s3.get_bucket_cors(Bucket=b)["CORSRules"] != GOOD["CORSRules"] for b in names)
        fault = Once(fault_kind, rng.randint(1, to_fix))
        acted: list[str] = []
        install(fault, acted)
        event = load_event(SWEEP_EVENT)
        result = run_with_retries(lambda: sweep.lambda_handler(event, FakeLambdaContext()), new_container)
        tally.tried += 1
        tally.note(fault_kind)
        if len(acted) != len(set(acted)):
            tally.note("buckets rewritten twice", len(acted) - len(set(acted)))
        stated = {r["bucket"] for r in (result or {}).get("audited", []) if r.get("remediated") is True}
        account_for(
            tally,
            f"case {n} ({fault_kind})",
            fault_kind,
            acted,
            drain(queue),
            lambda e: {e["data"]["bucket"]} if e["data"].get("remediated") == "true" else set(),
            stated,
        )


# --- release: the janitor, dry run off -------------------------------------------------------------------

RELEASE_FAULTS = ("crash after the release", "response lost", "next release fails", "re-check fails")


def install_release_faults(fault: Once, acted: list[str]) -> None:
    ec2 = client("ec2", "us-east-1")

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["allocation_id"] = params.get("AllocationId")

    def made(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code >= 300:
            return
        acted.append(str(context["allocation_id"]))
        if not fault.acted():
            return
        if fault.kind == "crash after the release" and fault.fire():
            raise InjectedCrash("the run died right after a release")
        if fault.kind == "response lost" and fault.fire():
            raise ReadTimeoutError(endpoint_url="https://ec2.us-east-1.amazonaws.com/")

    def refuse_release(**_: Any) -> Any:
        return (
            refusal("RequestLimitExceeded") if fault.kind == "next release fails" and fault.fire() else None
        )

    def refuse_recheck(**_: Any) -> Any:
        return refusal("Unavailable") if fault.kind == "re-check fails" and fault.fire() else None

    ec2.meta.events.register("before-parameter-build.ec2.ReleaseAddress", remember)
    ec2.meta.events.register("after-call.ec2.ReleaseAddress", made)
    ec2.meta.events.register("before-call.ec2.ReleaseAddress", refuse_release)
    ec2.meta.events.register("before-call.ec2.DescribeAddresses", refuse_recheck)


def released_in(email: dict[str, Any]) -> set[str]:
    """The allocation ids an email states as released (not "would release", not "to be released")."""
    found: set[str] = set()
    for value in email.get("data", {}).values():
        for line in str(value).splitlines():
            if re.search(r"\breleased\b", line) and not re.search(r"would|to be released", line):
                found.update(_RELEASED_ID.findall(line))
    return found


def janitor_case(
    rng: random.Random,
    n: int,
    tally: ActionTally,
    monkeypatch: pytest.MonkeyPatch,
    *,
    fault_kind: str,
    install: Callable[[Once, list[str]], None],
) -> None:
    with fresh_account():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="email")["QueueUrl"]
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName=LEDGER,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        create_journal_table()
        long_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        spec: Any = [{"ResourceType": "elastic-ip", "Tags": [{"Key": IDLE, "Value": long_ago}]}]
        due = rng.randint(1, 5)
        for _ in range(due):
            ec2.allocate_address(Domain="vpc", TagSpecifications=spec)
        for _ in range(rng.randint(0, 2)):
            ec2.allocate_address(Domain="vpc")  # idle, unmarked: marked this run, not released
        settings = JanitorSettings(
            dry_run=False,
            regions=("us-east-1",),
            grace_period_hours=0,
            max_releases_per_run=10,
            dns_guard=False,
            notify=Notifier(queue, ("ops@example.com",)),
            run_ledger_table=LEDGER,
            journal_table=JOURNAL_TABLE,
        )
        monkeypatch.setattr(schedule, "SETTINGS", settings)
        fault = Once(fault_kind, rng.randint(1, due))
        acted: list[str] = []
        install(fault, acted)
        event = load_event(JANITOR_EVENT)
        result = run_with_retries(
            lambda: dict(schedule.lambda_handler(event, FakeLambdaContext())), lambda: None
        )
        tally.tried += 1
        tally.note(fault_kind)
        stated = {
            a
            for region in (result or {}).get("regions", {}).values()
            for a in (*region.get("released", []), *region.get("released_earlier", []))
        }
        account_for(tally, f"case {n} ({fault_kind})", fault_kind, acted, drain(queue), released_in, stated)


# --- report send: the run's email fails once after the actions ------------------------------------------


def install_send_fault(acted: list[str], *, rewrites: bool) -> None:
    """Record the actions; the run's first SendMessage fails once, after its actions."""
    fault = Once("send", 0)
    if rewrites:
        install_rewrite_faults(Once("none", 10**9), acted)
    else:
        install_release_faults(Once("none", 10**9), acted)

    def refuse(**_: Any) -> Any:
        return refusal("ServiceUnavailable") if fault.fire() else None

    client("sqs").meta.events.register("before-call.sqs.SendMessage", refuse)


# --- part write: a hub worker (the CORS sweep, REMEDIATION=fix) ------------------------------------------

PART_FAULTS = ("part throttled", "dies after the part", "dies before the part")


def org_case(rng: random.Random, n: int, tally: ActionTally, monkeypatch: pytest.MonkeyPatch) -> None:
    with fresh_account():
        _create_runs_table()
        create_journal_table()
        sqs = boto3.client("sqs", region_name="us-east-1")
        queues = {
            name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("work", "email", "work-dlq")
        }
        accounts = sorted({f"{rng.randrange(10**11, 10**12)}" for _ in range(rng.randint(1, 3))})
        for account_id in accounts:
            seed_member(account_id, (), BAD_CORS)
        hub = org(queues, ",".join(accounts))
        hub = type(hub)(**{**hub.__dict__, "journal_table": JOURNAL_TABLE})
        audit = AuditSettings(
            allowed_origins=(ALLOWED,),
            remediation="fix",
            journal_table=JOURNAL_TABLE,
            notify=Notifier(queue_url=queues["email"], recipients=("ops@example.com",)),
        )
        use(auditor_worker, audit, hub, monkeypatch)
        run_id = f"soak-{n}"
        parts = RunParts(client("dynamodb"), TABLE)
        parts.start(run_id, "cors-sweep", accounts, datetime.now(UTC))
        chosen = {a: rng.choice(PART_FAULTS) for a in accounts}
        used: set[str] = set()
        current: dict[str, str] = {}

        def before(**_: Any) -> Any:
            account_id = current["account"]
            kind = chosen[account_id]
            if account_id in used or kind == "dies after the part":
                return None
            used.add(account_id)
            if kind == "part throttled":
                return refusal("ThrottlingException", 400)
            raise InjectedCrash(f"{account_id}'s worker died between its actions and its part")

        def after(**_: Any) -> None:
            account_id = current["account"]
            if chosen[account_id] == "dies after the part" and account_id not in used:
                used.add(account_id)
                raise InjectedCrash(f"{account_id}'s worker died right after its part")

        dynamodb = client("dynamodb")
        dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", before)
        dynamodb.meta.events.register("after-call.dynamodb.TransactWriteItems", after)
        pending = list(accounts)
        for receive in range(1, ATTEMPTS + 1):
            failed = []
            for account_id in pending:
                current["account"] = account_id
                record = work_record(queues, run_id, "cors-sweep", account_id)
                record["attributes"] = {**record["attributes"], "ApproximateReceiveCount": str(receive)}
                try:
                    answer = auditor_worker.lambda_handler({"Records": [record]}, FakeLambdaContext())
                except InjectedCrash:
                    failed.append(account_id)
                    continue
                if answer["batchItemFailures"]:
                    failed.append(account_id)
            pending = failed
            if not pending:
                break
        tally.tried += 1
        for kind in chosen.values():
            tally.note(kind)
        acted = [
            a
            for a in accounts
            if member_client(a, "s3").get_bucket_cors(Bucket=f"bad-{a}")["CORSRules"] != BAD_CORS["CORSRules"]
        ]
        stored = {p["account_id"]: p for p in parts.parts(run_id)}
        stated = {
            a for a, p in stored.items() if p.get("actions", {}).get("cors-rewrite", {}).get("done", 0) >= 1
        }

        def named(email: dict[str, Any]) -> set[str]:
            return {
                line.split(":", 1)[0].split(" ")[0]
                for line in str(email["data"].get("summary", "")).splitlines()
                if "cors-rewrite 1 done" in line or "(1 fixed)" in line
            }

        account_for(tally, f"run {n}", "a part write fault", acted, drain(queues["email"]), named, stated)


# --- the suites ------------------------------------------------------------------------------------------


def finish(tally: ActionTally, started: float) -> None:
    tally.seconds = time.perf_counter() - started
    publish(tally)
    assert tally.acted > 0, "the suite made side effects"
    assert tally.clean, tally.summary()


def test_rewrite_then_a_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed())
    tally = ActionTally("rewrite (auditor sweep)")
    started = time.perf_counter()
    with quiet():
        for n in range(size(ci=10, full=80)):
            auditor_case(rng, n, tally, monkeypatch, fault_kind=rng.choice(REWRITE_FAULTS))
    finish(tally, started)


def test_release_then_a_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed())
    tally = ActionTally("release (janitor)")
    started = time.perf_counter()
    with quiet():
        for n in range(size(ci=8, full=60)):
            janitor_case(
                rng,
                n,
                tally,
                monkeypatch,
                fault_kind=rng.choice(RELEASE_FAULTS),
                install=install_release_faults,
            )
    finish(tally, started)


def test_part_write_then_a_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed())
    tally = ActionTally("part write (hub worker)")
    started = time.perf_counter()
    with quiet():
        for n in range(size(ci=6, full=40)):
            org_case(rng, n, tally, monkeypatch)
    finish(tally, started)


def test_report_send_fails_once_after_the_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed())
    tally = ActionTally("report send (auditor, janitor)")
    started = time.perf_counter()
    with quiet():
        for n in range(size(ci=10, full=60)):
            if rng.random() < 0.5:
                janitor_case(
                    rng,
                    n,
                    tally,
                    monkeypatch,
                    fault_kind="janitor's email fails once",
                    install=lambda _fault, acted: install_send_fault(acted, rewrites=False),
                )
            else:
                auditor_case(
                    rng,
                    n,
                    tally,
                    monkeypatch,
                    fault_kind="auditor's first email fails once",
                    install=lambda _fault, acted: install_send_fault(acted, rewrites=True),
                )
    finish(tally, started)


# --- send mark: the email sender ---------------------------------------------------------------------------

P_MARK_FAULT = 0.08  # each of the five faults, drawn per send


def install_mark_faults(rng: random.Random, sent: Counter[str], context: Any, counts: Counter[str]) -> None:
    """A fault right after the send-started mark (it hangs for its client's worst case, the invocation
    killed if that reaches the deadline; or SES refuses the send and the mark cannot be cleared), or right
    after SES accepted (the invocation killed, the response lost, the record's completion failed). The
    hooks run on the record's own pool thread, so a fault armed at the mark meets that record's send."""
    send, dynamodb, lock, local = (
        single_attempt_client("ses"),
        client("dynamodb"),
        threading.Lock(),
        threading.local(),
    )
    ses_url, ddb_url = sender_soak.SES_URL, "https://dynamodb.us-east-1.amazonaws.com/"

    def draw(name: str) -> bool:
        with lock:
            hit = rng.random() < P_MARK_FAULT
            counts[name] += hit
            return hit

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["to"] = params["Destination"]["ToAddresses"][0]

    def refuse_after_mark(**_: Any) -> Any:
        if getattr(local, "refuse_send", False):
            local.refuse_send = False
            return sender_soak.short_circuit(ses_url, 400, {"Error": {"Code": "Throttling", "Message": "x"}})
        return None

    def accepted(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "MessageId" not in parsed:
            return
        with lock:
            sent[context["to"]] += 1
        if draw("killed after the accept"):
            raise sender_soak.Killed
        if draw("response lost after the accept"):
            raise ReadTimeoutError(endpoint_url=ses_url)
        if draw("completion fails after the accept"):
            local.fail_completion = True

    def classify(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        values = params.get("ExpressionAttributeValues", {})
        context["is_mark"] = ":deadline" in values
        context["completes"] = ":response_data" in values

    def fail_completion(context: dict[str, Any], **_: Any) -> Any:
        if context.get("completes") and getattr(local, "fail_completion", False):
            local.fail_completion = False
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}}
            return sender_soak.short_circuit(ddb_url, 400, error)
        return None

    def after_mark(marks: Any) -> Callable[..., None]:
        def hook(context: dict[str, Any], **_: Any) -> None:
            if not context.get("is_mark"):
                return
            if draw("mark hangs"):
                took = sender_soak.worst_case_seconds(marks)
                if took * 1000 >= lambda_context.get_remaining_time_in_millis():
                    counts["invocations killed during the mark"] += 1
                    raise sender_soak.Killed
                lambda_context.clock.advance(took)
            elif draw("refused after the mark, the mark not cleared"):
                local.refuse_send = local.fail_clear = True

        return hook

    def fail_clear(**_: Any) -> Any:
        if getattr(local, "fail_clear", False):
            local.fail_clear = False
            return sender_soak.short_circuit(
                ddb_url, 503, {"Error": {"Code": "ServiceUnavailable", "Message": "x"}}
            )
        return None

    lambda_context = context
    send.meta.events.register("before-parameter-build.ses.SendEmail", remember)
    send.meta.events.register("before-call.ses.SendEmail", refuse_after_mark)
    send.meta.events.register("after-call.ses.SendEmail", accepted)
    for marks in (dynamodb, single_attempt_client("dynamodb")):
        marks.meta.events.register("before-parameter-build.dynamodb.UpdateItem", classify)
        marks.meta.events.register("before-call.dynamodb.UpdateItem", fail_completion)
        marks.meta.events.register("after-call.dynamodb.UpdateItem", after_mark(marks))
        marks.meta.events.register("before-call.dynamodb.DeleteItem", fail_clear)
    quota = {"MaxSendRate": 100_000.0, "Max24HourSend": 1e9, "SentLast24Hours": 0.0}

    def send_quota(**_: Any) -> Any:
        return sender_soak.short_circuit(ses_url, 200, quota)

    client("ses").meta.events.register("before-call.ses.GetSendQuota", send_quota)


def test_send_mark_then_a_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed())
    tally = ActionTally("send mark (email sender)")
    total = size(ci=60, full=400)
    started = time.perf_counter()
    counts: Counter[str] = Counter()
    with fresh_account(), quiet():
        dlq_url, queue_url, clock = sender_soak.build_world(monkeypatch)
        outcome = sender_soak.Outcome()
        context = sender_soak.SoakContext(clock)
        install_mark_faults(random.Random(rng.random()), outcome.sent, context, counts)
        valid: dict[str, str] = {}
        queue: list[sender_soak.Message] = []
        for index in range(total):
            message_id = str(uuid.UUID(int=rng.getrandbits(128)))
            to = f"user{index}@example.com"
            extra = {"idempotency_key": f"k{index}"} if index % 2 else {}
            queue.append(sender_soak.Message(message_id, json.dumps({**sender_soak.welcome(to), **extra})))
            valid[message_id] = to
        sender_soak.run_queue(queue, clock, outcome, context, queue_url)
        dlq = Tally("dlq")  # every DLQ message must carry its reason, as in the sender's soak
        sender_soak.drain_dlq(dlq_url, outcome, dlq)
    tally.tried = total
    for message_id, to in valid.items():
        sends, codes = outcome.sent[to], outcome.dead.get(message_id, [])
        tally.acted += sends
        if "SendOutcomeUnknown" in codes:
            tally.note("parked as SendOutcomeUnknown")
        if sends == 0:
            tally.fail("lost", f"{message_id} ({to}) never sent; DLQ codes {codes}")
        elif sends > 1:
            tally.fail("duplicated", f"{message_id} ({to}) sent {sends} times")
        else:
            tally.reported += 1
        if sends and set(codes) - {"SendOutcomeUnknown"}:
            tally.fail("unreported", f"{message_id} ({to}) sent, but dead-lettered as {sorted(set(codes))}")
    for crash in outcome.crashes:
        tally.note("invocations that raised")
        tally.examples.append(f"crashed: {crash}")
    for name, count in sorted(counts.items()):
        tally.note(name, count)
    finish(tally, started)
    assert not outcome.crashes, tally.summary()
    assert dlq.clean, dlq.summary()
