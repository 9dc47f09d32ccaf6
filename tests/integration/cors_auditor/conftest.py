"""Fixtures for the auditor under moto: its handlers with swappable settings, buckets, call counters."""

from __future__ import annotations

import copy
import functools
from collections import Counter
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse

from cors_auditor import warm_state
from cors_auditor.handlers import uploads
from cors_auditor.settings import Settings
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from groundskeeper.action_journal import KEY_SCHEMA
from groundskeeper.aws_clients import client
from tests.conftest import load_event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Invoke = Callable[[Any], dict[str, Any]]
InvokeHandler = Callable[[ModuleType, Any], dict[str, Any]]

WILDCARD_WRITE = {
    "CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"]}]
}
GOOD = {
    "CORSRules": [
        {"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 600}
    ]
}


class _Raw:
    """Just enough of a urllib3 response for botocore to read a canned body."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def s3_error(code: str, status: int = 403) -> AWSResponse:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{code}</Message></Error>'
    )
    return AWSResponse("https://s3.amazonaws.com/", status, {}, _Raw(body.encode()))


@pytest.fixture
def s3(aws: None) -> S3Client:
    """The layer's cached S3 client, moto-backed: the very client the handler uses."""
    return client("s3")


@pytest.fixture
def api_calls(s3: S3Client) -> Counter[str]:
    """How many times each S3 operation was called through the handler's client (retries not counted)."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    s3.meta.events.register("before-call.s3", count)
    return calls


@pytest.fixture
def deny(s3: S3Client) -> Callable[[str, str], None]:
    """deny(operation, bucket): S3 answers AccessDenied for that bucket, as real IAM would (moto cannot)."""

    def install(operation: str, bucket: str) -> None:
        def hook(request: Any, **_: Any) -> AWSResponse | None:
            return (
                s3_error("AccessDenied")
                if f"/{bucket}" in request.url or f"//{bucket}." in request.url
                else None
            )

        s3.meta.events.register(f"before-send.s3.{operation}", hook)

    return install


@pytest.fixture
def use_settings(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Swap the handlers' settings (and give them a fresh container: empty verdict cache and sent keys)."""
    monkeypatch.setattr(warm_state, "VERDICTS", VerdictCache())
    monkeypatch.setattr(warm_state, "NOTIFIED", SeenKeys())

    def apply(**values: Any) -> Settings:
        settings = Settings(**values)
        monkeypatch.setattr(warm_state, "SETTINGS", settings)
        return settings

    apply()
    return apply


@pytest.fixture
def invoke_handler(use_settings: Callable[..., Settings], lambda_context: Any) -> InvokeHandler:
    """invoke_handler(module, event): one of the auditor's entry points, in the same warm container."""

    def call(module: ModuleType, event: Any) -> dict[str, Any]:
        result: dict[str, Any] = module.lambda_handler(event, lambda_context)
        return result

    return call


@pytest.fixture
def invoke(invoke_handler: InvokeHandler) -> Invoke:
    """The uploads bucket's entry point, which takes S3 notifications."""
    return functools.partial(invoke_handler, uploads)


def s3_event(bucket: str, keys: list[str]) -> dict[str, Any]:
    """An S3 notification with one record per key, built from the sample event."""
    template = load_event("s3-object-created.json")["Records"][0]
    records = []
    for key in keys:
        record = copy.deepcopy(template)
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        record["s3"]["object"]["key"] = key
        records.append(record)
    return {"Records": records}


def make_bucket(s3: S3Client, name: str, cors: dict[str, Any] | None = None) -> None:
    s3.create_bucket(Bucket=name)
    if cors is not None:
        s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors)  # type: ignore[arg-type]


def by_bucket(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {report["bucket"]: report for report in result["audited"]}


JOURNAL_TABLE = "action-journal"


def create_journal_table() -> None:
    """The ActionJournalTable's key schema, in moto."""
    client("dynamodb").create_table(
        TableName=JOURNAL_TABLE,
        **KEY_SCHEMA,
        BillingMode="PAY_PER_REQUEST",
    )


def refuse(
    service_client: Any,
    operation: str,
    code: str,
    *,
    status: int = 400,
    times: int | None = None,
    when: Callable[[dict[str, Any]], bool] = lambda _params: True,
) -> Counter[str]:
    """Make `operation` answer `code` (`times` times, or always) without reaching moto: a botocore
    `before-call` hook whose answer botocore takes as the service's, so the call is never carried out.
    `when` picks the calls by their request parameters. Returns a counter of the refusals."""
    refused: Counter[str] = Counter()

    def hook(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if (times is not None and refused[code] >= times) or not when(params):
            return None
        refused[code] += 1
        error = {"Code": code, "Message": f"{code} (injected)"}
        return AWSResponse("https://aws.example/", status, {}, None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    # A client, or a boto3 session (whose clients, made afterwards, all carry the hook).
    events = service_client.events if hasattr(service_client, "events") else service_client.meta.events
    events.register(f"before-call.*.{operation}", hook)
    return refused
