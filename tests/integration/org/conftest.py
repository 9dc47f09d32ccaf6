"""Fixtures for many accounts on moto: member accounts seeded through assumed roles, a denial hook."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from groundskeeper_org.accounts import AccountSessions
from scripts.pipeline.moto_server import serialise_dynamodb

HUB = "123456789012"  # moto's default account: where the functions run
ROLE = "GroundskeeperMember"
TABLE = "org-runs"
IDLE = "groundskeeper:idle-since"
ALLOWED = "https://app.example.com"
GOOD_CORS = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": [ALLOWED]}]}


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


def seed_member(account_id: str, regions: Iterable[str], bad_cors: dict[str, Any]) -> None:
    """Per region: two addresses idle for 30 days (due for release), one idle and unmarked, one in use.
    Two buckets: good-<account> with GOOD_CORS, bad-<account> with `bad_cors`."""
    long_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for region in regions:
        ec2 = member_client(account_id, "ec2", region)
        spec = [{"ResourceType": "elastic-ip", "Tags": [{"Key": IDLE, "Value": long_ago}]}]
        for _ in range(2):
            ec2.allocate_address(Domain="vpc", TagSpecifications=spec)
        ec2.allocate_address(Domain="vpc")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
        used = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.associate_address(AllocationId=used, NetworkInterfaceId=eni)
    s3 = member_client(account_id, "s3")
    for name, cors in ((f"good-{account_id}", GOOD_CORS), (f"bad-{account_id}", bad_cors)):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors)


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


def deny_list_tags(organizations: Any, *account_ids: str) -> None:
    """Make ListTagsForResource on these accounts answer AccessDeniedException, as Organizations does for a
    caller without organizations:ListTagsForResource."""

    def hook(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        # Organizations speaks JSON: at before-call the body is the serialised request.
        body = params["body"]
        if json.loads(body if isinstance(body, str | bytes) else "{}").get("ResourceId") not in account_ids:
            return None
        error = {
            "Code": "AccessDeniedException",
            "Message": "not authorized: organizations:ListTagsForResource",
        }
        return AWSResponse("https://organizations.us-east-1.amazonaws.com/", 400, {}, None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    organizations.meta.events.register("before-call.organizations.ListTagsForResource", hook)


def moto_dynamodb_serialised() -> contextlib.AbstractContextManager[None]:
    """In-process moto's DynamoDB one request at a time, atomic as DynamoDB is (the simulated round trip
    happens before it, so it still overlaps)."""
    return serialise_dynamodb()


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
