"""Fixtures for the janitor under moto: seeding addresses, running the handler, injecting EC2 faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from eip_janitor.handlers import schedule
from eip_janitor.settings import Settings
from groundskeeper.aws_clients import client
from tests.conftest import load_event

IDLE = "groundskeeper:idle-since"
KEEP = "groundskeeper:keep"
EVENT = "schedule-eip-janitor.json"
LEDGER = "idempotency"


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fleet:
    """Seeds and inspects addresses through plain moto clients (not the janitor's cached ones)."""

    clients: dict[str, Any] = field(default_factory=dict)
    subnets: dict[str, str] = field(default_factory=dict)

    def ec2(self, region: str = "us-east-1") -> Any:
        if region not in self.clients:
            self.clients[region] = boto3.client("ec2", region_name=region)
        return self.clients[region]

    def allocate(self, region: str = "us-east-1", **tags: str) -> str:
        spec = [{"ResourceType": "elastic-ip", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        kwargs: dict[str, Any] = {"Domain": "vpc", "TagSpecifications": spec} if tags else {"Domain": "vpc"}
        return str(self.ec2(region).allocate_address(**kwargs)["AllocationId"])

    def associate(self, allocation_id: str, region: str = "us-east-1") -> None:
        """Associate through a fresh network interface (one public address per interface)."""
        ec2 = self.ec2(region)
        if region not in self.subnets:
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            self.subnets[region] = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        eni = ec2.create_network_interface(SubnetId=self.subnets[region])["NetworkInterface"]
        ec2.associate_address(AllocationId=allocation_id, NetworkInterfaceId=eni["NetworkInterfaceId"])

    def addresses(self, region: str = "us-east-1") -> dict[str, dict[str, Any]]:
        return {a["AllocationId"]: a for a in self.ec2(region).describe_addresses()["Addresses"]}

    def tags(self, allocation_id: str, region: str = "us-east-1") -> dict[str, str]:
        entry = self.addresses(region)[allocation_id]
        return {t["Key"]: t["Value"] for t in entry.get("Tags") or []}


@pytest.fixture
def fleet(aws: None) -> Fleet:
    return Fleet()


@pytest.fixture
def ledger_table(aws: None) -> str:
    """The stack's idempotency table as the template makes it: a string hash key `id`."""
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName=LEDGER,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return LEDGER


@pytest.fixture
def run_janitor(
    aws: None, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> Callable[..., dict[str, Any]]:
    """Invoke the real handler with the scheduled event and the given settings (DRY_RUN=false unless told)."""

    def run(**overrides: Any) -> dict[str, Any]:
        settings = replace(Settings(dry_run=False, regions=("us-east-1",)), **overrides)
        monkeypatch.setattr(schedule, "SETTINGS", settings)
        result: dict[str, Any] = schedule.lambda_handler(load_event(EVENT), lambda_context)
        return result

    return run


def ec2_error(code: str, status: int = 400) -> tuple[AWSResponse, dict[str, Any]]:
    """What a `before-call` hook returns to make the call fail with this EC2 error code.

    before-call, not before-send: botocore emits before-send to every handler, so in-process moto still
    performs the call (releases the address) even when our hook supplies the response. A before-call
    response short-circuits the request entirely, as a real refusal would."""

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield b""

    parsed = {
        "Error": {"Code": code, "Message": "injected by the test"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return AWSResponse("https://ec2.amazonaws.com/", status, {}, Raw()), parsed


def call_params(params: dict[str, Any]) -> dict[str, Any]:
    """The EC2 query parameters of a `before-call` hook's serialized request."""
    return dict(params["body"])


def rechecked_ids(params: dict[str, Any]) -> list[str]:
    """The allocation ids a `provide-client-params` DescribeAddresses call re-checks ([] for the sweep's)."""
    return [
        value
        for spec in params.get("Filters") or []
        if spec["Name"] == "allocation-id"
        for value in spec["Values"]
    ]


def janitor_ec2(region: str = "us-east-1") -> Any:
    """The cached client the janitor itself uses for the region: hooks go here."""
    return client("ec2", region)
