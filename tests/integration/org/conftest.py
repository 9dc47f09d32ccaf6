"""Fixtures for many accounts on moto: member accounts seeded through assumed roles, a denial hook."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from groundskeeper.accounts import AccountSessions

HUB = "123456789012"  # moto's default account: where the functions run
ROLE = "GroundskeeperMember"
TABLE = "org-runs"


def member_client(account_id: str, service: str, region: str = "us-east-1") -> Any:
    """A plain moto client acting in the account (not the code under test's cached one)."""
    if account_id == HUB:
        return boto3.client(service, region_name=region)
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="seed"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def deny_assume_role(sts: Any, *account_ids: str) -> None:
    """Make AssumeRole into these accounts answer AccessDenied, like AWS for a missing or untrusted role."""

    def hook(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        # STS speaks the query protocol: at before-call the body is still a dict of the call's parameters.
        if str(params["body"]["RoleArn"]).split(":")[4] not in account_ids:
            return None
        error = {"Code": "AccessDenied", "Message": "not authorized to perform: sts:AssumeRole"}
        return AWSResponse("https://sts.amazonaws.com/", 403, {}, None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    sts.meta.events.register("before-call.sts.AssumeRole", hook)


@contextlib.contextmanager
def moto_dynamodb_serialised() -> Iterator[None]:
    """In-process moto's TransactWriteItems deep-copies the table while other threads write to it
    ("dictionary changed size during iteration"); real DynamoDB has no such limit. One lock around moto's
    DynamoDB handler (the simulated round trip happens before it, so it still overlaps)."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


@pytest.fixture
def hub_sts(aws: None) -> Any:
    return boto3.client("sts", region_name="us-east-1")


@pytest.fixture
def sessions(hub_sts: Any) -> AccountSessions:
    return AccountSessions(hub_sts, role_name=ROLE, own_account=HUB)


@pytest.fixture
def runs_table(aws: None) -> Iterator[Any]:
    with moto_dynamodb_serialised():
        yield _create_runs_table()


def _create_runs_table() -> Any:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb
