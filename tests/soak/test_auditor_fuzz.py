"""The auditor fuzz: random CORS configurations (valid and malformed), malformed events, and remediation's
invariants, end to end through the handler under moto.

Three parts, one table:
- plans: random configurations, with and without an allowlist, straight into plan_remediation. wrong = a plan
  that widens access (the reference evaluator of S3's first-match semantics in
  tests/unit/cors_auditor/test_remediation_invariants.py), leaves an origin finding, or is not a fixed point.
- buckets: random valid configurations put on moto buckets, audited by the handler with REMEDIATION=fix,
  then restored from the handler's result. wrong = widening as S3 holds it afterwards, or a restore that does
  not give the original back; lost / duplicated = a bucket of the event missing from, or twice in, the result.
- events: random and malformed events through each entry point (uploads, watched buckets, CORS change,
  sweep), each with another trigger's event now and then. lost = an event that gives no bucket, no sweep and
  no counted skip, or a named bucket the result leaves out; duplicated = a bucket audited twice; wrong = a
  skip count that differs from the parser's.
crashed counts anything that raised, in every part.
"""

from __future__ import annotations

import random
import string
import time
from collections import Counter
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError

from cors_auditor import restore, warm_state
from cors_auditor.event_sources import (
    Targets,
    sweep_targets,
    targets_from_cors_change,
    targets_from_object_created,
    targets_from_s3_notification,
)
from cors_auditor.handlers import cors_change, sweep, uploads, watched_buckets
from cors_auditor.remediation import plan_remediation
from cors_auditor.rules import ALL_METHODS
from cors_auditor.settings import Settings
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from groundskeeper.aws_clients import client, reset_clients
from groundskeeper.observability import logger
from tests.conftest import load_event
from tests.integration.cors_auditor.conftest import s3_event
from tests.lambda_context import FakeLambdaContext
from tests.soak.report import Tally, publish, seed, size
from tests.unit.cors_auditor.test_remediation_invariants import origin_findings, widenings

ALLOWED = ("https://app.example.com", "https://admin.example.com", "https://shop.example.org")
ORIGINS = (
    "*",
    "null",
    "NULL",
    *ALLOWED,
    "https://evil.example.net",
    "https://*.example.com",
    "https://app.*",
    "http://*",
    "*.example.com",
    "http://app.example.com",
    "http://legacy.example.com",
    "http://localhost:3000",
    "http://127.0.0.1:8080",
    "https://APP.example.com",
    "app.example.com",
    "https://user@app.example.com",
)
HEADERS = ("*", "Content-Type", "authorization", "x-amz-*", "X-Custom", "x-amz-meta-*")
EXPOSE = ("ETag", "etag", "x-amz-request-id", "x-amz-meta-a", "*", "x-amz-server-side-encryption-context")
# Each entry point with the parser it calls: the fuzz checks the handler's result against the parser's count.
TRIGGERS: dict[str, tuple[ModuleType, Callable[[Any], Targets]]] = {
    "uploads": (uploads, targets_from_s3_notification),
    "watched_buckets": (watched_buckets, targets_from_object_created),
    "cors_change": (cors_change, targets_from_cors_change),
    "sweep": (sweep, lambda _event: sweep_targets()),
}
Invoke = Callable[[Any, Settings, ModuleType], dict[str, Any]]
JUNK: tuple[Any, ...] = (None, 7, 3.5, True, "", "GET", [], {}, [None, 1], {"a": [1]}, "\u0000", "é" * 3)


def random_origin(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.7:
        return rng.choice(ORIGINS)
    host = "".join(rng.choice(string.ascii_lowercase + ".-*") for _ in range(rng.randint(1, 12)))
    if roll < 0.9:
        return f"{rng.choice(['https', 'http', 'ftp'])}://{host}"
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 20)))


def valid_rule(rng: random.Random) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "AllowedOrigins": [rng.choice(ORIGINS) for _ in range(rng.randint(1, 3))],
        "AllowedMethods": rng.sample(sorted(ALL_METHODS), rng.randint(1, 5)),
    }
    if rng.random() < 0.5:
        rule["AllowedHeaders"] = rng.sample(HEADERS, rng.randint(1, 3))
    if rng.random() < 0.5:
        rule["ExposeHeaders"] = rng.sample(EXPOSE, rng.randint(1, 3))
    if rng.random() < 0.3:
        rule["MaxAgeSeconds"] = rng.choice([0, 600, 86400, 10**6])
    if rng.random() < 0.3:
        rule["ID"] = f"rule-{rng.randint(0, 99)}"
    return rule


def fuzzed_rule(rng: random.Random) -> Any:
    """A rule as anything might hand it over: valid, with random origins, with fields of the wrong type."""
    roll = rng.random()
    if roll < 0.6:
        rule = valid_rule(rng)
        rule["AllowedOrigins"] = [random_origin(rng) for _ in range(rng.randint(1, 4))]
        return rule
    if roll < 0.9:
        rule = valid_rule(rng)
        for name in rng.sample([*rule, "Junk"], rng.randint(1, 2)):
            if rng.random() < 0.5:
                rule.pop(name, None)
            else:
                rule[name] = rng.choice(JUNK)
        return rule
    return rng.choice(JUNK)


def random_configuration(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(JUNK)
    rules = [fuzzed_rule(rng) for _ in range(rng.randint(0, 8))]
    return rules if roll < 0.1 else {"CORSRules": rules}


def allowlist(rng: random.Random) -> tuple[str, ...]:
    return () if rng.random() < 0.4 else tuple(rng.sample(ALLOWED, rng.randint(1, len(ALLOWED))))


def fuzz_plans(rng: random.Random, count: int, tally: Tally) -> None:
    for _ in range(count):
        configuration, allowed = random_configuration(rng), allowlist(rng)
        tally.tried += 1
        try:
            plan = plan_remediation(configuration, allowed)
            after = {"CORSRules": plan.rules}
            widened = widenings(configuration, after, allowed)
            left = origin_findings(after, allowed)
            again = plan_remediation(after, allowed).changes
        except Exception as exc:  # noqa: BLE001 - a fuzz counts every crash and goes on
            tally.fail("crashed", f"plan of {configuration!r} with {allowed}: {type(exc).__name__}: {exc}")
            continue
        tally.note("plans that change something", int(plan.changes))
        tally.note("plans with an allowlist", int(bool(allowed)))
        if widened:
            tally.fail("wrong", f"widening plan for {configuration!r} with {allowed}: {widened[:2]}")
        elif left or again:
            tally.fail(
                "wrong", f"plan for {configuration!r} with {allowed} leaves {left} (second pass: {again})"
            )


def current_cors(s3: Any, bucket: str) -> dict[str, Any] | None:
    try:
        return {"CORSRules": s3.get_bucket_cors(Bucket=bucket)["CORSRules"]}
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchCORSConfiguration":
            raise
        return None


def fuzz_buckets(rng: random.Random, count: int, invoke: Invoke, tally: Tally) -> None:
    plain = boto3.client("s3", region_name="us-east-1")
    for number in range(count):
        bucket = f"fuzz-{number}"
        allowed = allowlist(rng)
        plain.create_bucket(Bucket=bucket)
        plain.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={"CORSRules": [valid_rule(rng) for _ in range(rng.randint(1, 6))]},
        )
        original = current_cors(plain, bucket)
        tally.tried += 1
        try:
            result = invoke(
                s3_event(bucket, ["k"] * rng.randint(1, 3)),
                Settings(allowed_origins=allowed, remediation="fix"),
                uploads,
            )
            after = current_cors(plain, bucket)
            restore.restore(client("s3"), restore.saved_configurations(result))
            restored = current_cors(plain, bucket)
        except Exception as exc:  # noqa: BLE001
            tally.fail("crashed", f"{bucket} {original} with {allowed}: {type(exc).__name__}: {exc}")
            continue
        audited = Counter(report["bucket"] for report in result["audited"])
        if audited[bucket] == 0:
            tally.fail("lost", f"{bucket} missing from {result}")
        elif audited[bucket] > 1:
            tally.fail("duplicated", f"{bucket} audited {audited[bucket]} times")
        tally.note("buckets remediated", int(result["audited"][0].get("remediated", False)))
        widened = widenings(original, after, allowed)
        if widened:
            tally.fail("wrong", f"{bucket}: {original} became {after} with {allowed}: {widened[:2]}")
        elif origin_findings(after, allowed):
            tally.fail("wrong", f"{bucket}: {after} still has origin findings with {allowed}")
        if restored != original:
            tally.fail("wrong", f"{bucket}: restore gave {restored}, not {original}")


def json_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice(JUNK)
    if roll < 0.7:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = [
        "Records",
        "s3",
        "bucket",
        "name",
        "body",
        "Sns",
        "Message",
        "detail",
        "detail-type",
        "source",
        "x",
    ]
    return {rng.choice(keys): json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def bucket_name(rng: random.Random, existing: list[str]) -> Any:
    roll = rng.random()
    if roll < 0.4:
        return rng.choice(existing)
    if roll < 0.7:
        return "".join(rng.choice(string.ascii_lowercase + "-.") for _ in range(rng.randint(3, 20)))
    return rng.choice([*JUNK, "Bad_Bucket", "a" * 300, "../etc", "xn--bucket", "192.168.0.1"])


def s3_records(rng: random.Random, existing: list[str]) -> dict[str, Any]:
    records = s3_event("placeholder", ["k"] * rng.randint(1, 4))["Records"]
    for record in records:
        record["s3"]["bucket"]["name"] = bucket_name(rng, existing)
        if rng.random() < 0.1:
            record["s3"]["object"]["key"] = rng.choice(JUNK)
        if rng.random() < 0.2:
            record["s3"] = json_value(rng)
    return {"Records": records}


def random_event(rng: random.Random, existing: list[str]) -> tuple[str, Any]:
    """(the trigger to invoke, its event): mostly that trigger's own shape, damaged; sometimes junk or another
    trigger's event, which the entry point must skip."""
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(list(TRIGGERS)), json_value(rng)
    if roll < 0.45:
        return "uploads", s3_records(rng, existing)
    if roll < 0.8:
        name = rng.choice(["cloudtrail-put-bucket-cors.json", "eventbridge-s3-object-created.json"])
        event = load_event(name)
        detail = event.get("detail") or {}
        for key in ("requestParameters", "bucket"):
            if key in detail and isinstance(detail[key], dict):
                detail[key]["bucketName" if key == "requestParameters" else "name"] = bucket_name(
                    rng, existing
                )
        if rng.random() < 0.3:
            event["detail"] = json_value(rng)
        return ("cors_change" if name.startswith("cloudtrail") else "watched_buckets"), event
    if roll < 0.9:
        return "sweep", load_event("schedule-cors-sweep.json")
    # Another trigger's event: skipped, never audited.
    return rng.choice(["uploads", "watched_buckets", "cors_change"]), load_event("schedule-cors-sweep.json")


def fuzz_events(
    rng: random.Random,
    count: int,
    existing: list[str],
    invoke: Invoke,
    tally: Tally,
) -> None:
    for _ in range(count):
        trigger, event = random_event(rng, existing)
        module, parse = TRIGGERS[trigger]
        tally.tried += 1
        try:
            targets = parse(event)
            result = invoke(event, Settings(), module)
        except Exception as exc:  # noqa: BLE001
            tally.fail("crashed", f"event {str(event)[:300]}: {type(exc).__name__}: {exc}")
            continue
        tally.note("events that sweep", int(targets.sweep))
        tally.note("records skipped", result["skipped"])
        if not (targets.sweep or targets.buckets or targets.skipped):
            tally.fail("lost", f"event {str(event)[:300]} gave nothing and counted no skip")
        audited = Counter(report["bucket"] for report in result["audited"])
        for bucket, times in audited.items():
            if times > 1:
                tally.fail("duplicated", f"{bucket} audited {times} times for one event")
        if not targets.sweep and set(targets.buckets) - set(audited):
            tally.fail("lost", f"named buckets {sorted(set(targets.buckets) - set(audited))} not audited")
        if result["skipped"] != targets.skipped:
            tally.fail("wrong", f"skipped {result['skipped']}, the parser counted {targets.skipped}")


def test_auditor_fuzz(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed())
    tally = Tally("auditor fuzz")
    context = FakeLambdaContext()

    def invoke(event: Any, settings: Settings, module: ModuleType) -> dict[str, Any]:
        # A fresh container each time: no verdict cached from an earlier case.
        monkeypatch.setattr(warm_state, "SETTINGS", settings)
        monkeypatch.setattr(warm_state, "VERDICTS", VerdictCache())
        monkeypatch.setattr(warm_state, "NOTIFIED", SeenKeys())
        result: dict[str, Any] = module.lambda_handler(event, context)
        return result

    level = logger.log_level
    logger.setLevel("WARNING")  # a skipped record and an audited bucket each log a line
    started = time.perf_counter()
    try:
        fuzz_plans(rng, size(ci=400, full=3000), tally)
        reset_clients()
        with moto.mock_aws():
            fuzz_buckets(rng, size(ci=15, full=200), invoke, tally)
            fuzz_events(rng, size(ci=150, full=1500), ["fuzz-0", "fuzz-1", "fuzz-2"], invoke, tally)
    finally:
        logger.setLevel(level)
        reset_clients()
    tally.seconds = time.perf_counter() - started
    publish(tally)
    assert tally.clean, tally.summary()
