"""Provisions a small, known world on the moto server: buckets, queues, table, sender identity, addresses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

ACCOUNT_ID = "123456789012"
HOME_REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
SENDER = "groundskeeper@example.com"
OWNERS = "owners@example.com"
ALLOWED_ORIGIN = "https://app.example.com"
IDLE_TAG = "groundskeeper:idle-since"
EXEMPT_TAG = "groundskeeper:keep"
# A public zone whose A record still names one idle, long-due address: the janitor must hold it back.
DNS_ZONE = "shop.example.com"
DNS_RECORD = "www.shop.example.com"
# A member account the hub governs (docs/organization.md): moto lands calls made with credentials from
# AssumeRole into the account the role's ARN names, so one server holds both accounts.
MEMBER_ACCOUNT = "222233334444"
MEMBER_ROLE = "GroundskeeperMember"
ORG_JOBS = ("eip-janitor", "cors-sweep")

GOOD_CORS = {
    "CORSRules": [
        {"AllowedOrigins": [ALLOWED_ORIGIN], "AllowedMethods": ["GET", "HEAD"], "MaxAgeSeconds": 3600},
    ]
}
BAD_CORS = {
    "CORSRules": [
        {"AllowedOrigins": [ALLOWED_ORIGIN], "AllowedMethods": ["GET"]},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT", "POST"], "AllowedHeaders": ["*"]},
    ]
}
# Whoever may set a bucket's CORS writes these strings, and S3 stores them as given: the findings email
# must show them as text, never as markup, in both its HTML and its text part.
HOSTILE_ORIGINS = ('https://x.example/"><img src=x onerror=alert(1)>', "<script>alert(1)</script>")
HOSTILE_CORS = {"CORSRules": [{"AllowedOrigins": list(HOSTILE_ORIGINS), "AllowedMethods": ["GET"]}]}


@dataclass
class World:
    """Names and ids of what provision() made; the flow and the tests read expectations from here."""

    good_bucket: str = "gk-demo-good"
    bad_bucket: str = "gk-demo-bad"
    plain_bucket: str = "gk-demo-plain"
    hostile_bucket: str = "gk-demo-hostile"
    notifications_queue_url: str = ""
    email_queue_url: str = ""
    dead_letter_queue_url: str = ""
    idempotency_table: str = "gk-demo-idempotency"
    action_journal_table: str = "gk-demo-action-journal"
    regions: tuple[str, ...] = (HOME_REGION, OTHER_REGION)
    # allocation id -> what the janitor should do with it on its first non-dry run
    addresses: dict[str, str] = field(default_factory=dict)
    dns_named_ip: str = ""  # the public IP the zone's record points at
    member_account: str = MEMBER_ACCOUNT
    member_bucket: str = "gk-demo-member-bad"
    member_address: str = ""  # the member's one idle, long-due address: a dry run would release it
    org_work_queue_urls: dict[str, str] = field(default_factory=dict)  # job -> its work queue (hub mode)
    org_dead_letter_queue_url: str = ""

    @property
    def buckets(self) -> tuple[str, ...]:
        return (self.good_bucket, self.bad_bucket, self.plain_bucket, self.hostile_bucket)

    def expected(self, outcome: str) -> set[str]:
        return {alloc for alloc, expected in self.addresses.items() if expected == outcome}


def provision(clients: Any) -> World:
    """Make the world. `clients(service, region)` returns a boto3 client bound to the moto server."""
    world = World()
    _queues(clients, world)
    _buckets(clients, world)
    _idempotency_table(clients, world)
    _action_journal_table(clients, world)
    clients("ses", HOME_REGION).verify_email_identity(EmailAddress=SENDER)
    _addresses(clients, world)
    _member_account(clients, world)
    return world


def _queues(clients: Any, world: World) -> None:
    sqs = clients("sqs", HOME_REGION)
    world.dead_letter_queue_url = sqs.create_queue(QueueName="gk-demo-email-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=world.dead_letter_queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    world.email_queue_url = sqs.create_queue(
        QueueName="gk-demo-email",
        Attributes={
            # Short, so a record the sender reports as failed comes back within the demo's run.
            "VisibilityTimeout": "2",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    world.notifications_queue_url = sqs.create_queue(QueueName="gk-demo-upload-notifications")["QueueUrl"]


def _buckets(clients: Any, world: World) -> None:
    s3 = clients("s3", HOME_REGION)
    sqs = clients("sqs", HOME_REGION)
    notifications_arn = sqs.get_queue_attributes(
        QueueUrl=world.notifications_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    for bucket in world.buckets:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": notifications_arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
    s3.put_bucket_cors(Bucket=world.good_bucket, CORSConfiguration=GOOD_CORS)
    s3.put_bucket_cors(Bucket=world.bad_bucket, CORSConfiguration=BAD_CORS)
    s3.put_bucket_cors(Bucket=world.hostile_bucket, CORSConfiguration=HOSTILE_CORS)


def _idempotency_table(clients: Any, world: World) -> None:
    dynamodb = clients("dynamodb", HOME_REGION)
    dynamodb.create_table(
        TableName=world.idempotency_table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _action_journal_table(clients: Any, world: World) -> None:
    """Every action is written down here before it is made (groundskeeper.action_journal), as deployed."""
    from groundskeeper.action_journal import KEY_SCHEMA  # the layer is on the path once the demo runs

    clients("dynamodb", HOME_REGION).create_table(
        TableName=world.action_journal_table,
        **KEY_SCHEMA,
        BillingMode="PAY_PER_REQUEST",
    )


def _addresses(clients: Any, world: World) -> None:
    ten_days_ago = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for region in world.regions:
        ec2 = clients("ec2", region)

        def allocate(expected: str, tags: dict[str, str], ec2: Any = ec2) -> str:
            allocation_id: str = ec2.allocate_address(Domain="vpc")["AllocationId"]
            if tags:
                tag_list = [{"Key": key, "Value": value} for key, value in tags.items()]
                ec2.create_tags(Resources=[allocation_id], Tags=tag_list)
            world.addresses[allocation_id] = expected
            return allocation_id

        allocate("released", {IDLE_TAG: ten_days_ago, "Name": f"forgotten-{region}"})
        allocate("marked", {})
        allocate("in_grace", {IDLE_TAG: yesterday})
        allocate("exempt", {EXEMPT_TAG: "true"})
        if region == HOME_REGION:
            named = allocate("dns_protected", {IDLE_TAG: ten_days_ago, "Name": "still-in-dns"})
            world.dns_named_ip = ec2.describe_addresses(AllocationIds=[named])["Addresses"][0]["PublicIp"]
            _dns_zone(clients, world.dns_named_ip)
        in_use = allocate("unmarked", {IDLE_TAG: ten_days_ago})
        image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        instance = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]
        ec2.associate_address(AllocationId=in_use, InstanceId=instance["InstanceId"])


def _dns_zone(clients: Any, ip: str) -> None:
    route53 = clients("route53", HOME_REGION)
    zone = route53.create_hosted_zone(Name=DNS_ZONE, CallerReference=DNS_ZONE)["HostedZone"]["Id"]
    record = {"Name": DNS_RECORD, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": ip}]}
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]}
    )


def _member_account(clients: Any, world: World) -> None:
    """The member's own idle address and badly configured bucket, made as the member role, and the hub's
    work queues, one per job, with their dead-letter queue, as the template makes them."""
    sqs = clients("sqs", HOME_REGION)
    for job in ORG_JOBS:
        world.org_work_queue_urls[job] = sqs.create_queue(QueueName=f"gk-demo-org-{job}-work")["QueueUrl"]
    world.org_dead_letter_queue_url = sqs.create_queue(QueueName="gk-demo-org-work-dlq")["QueueUrl"]
    sts = clients("sts", HOME_REGION)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{world.member_account}:role/{MEMBER_ROLE}", RoleSessionName="gk-demo"
    )["Credentials"]
    member = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=HOME_REGION,
    )
    endpoint = sts.meta.endpoint_url
    ec2 = member.client("ec2", endpoint_url=endpoint)
    world.member_address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ten_days_ago = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ec2.create_tags(
        Resources=[world.member_address],
        Tags=[{"Key": IDLE_TAG, "Value": ten_days_ago}, {"Key": "Name", "Value": "forgotten-in-member"}],
    )
    s3 = member.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=world.member_bucket)
    s3.put_bucket_cors(Bucket=world.member_bucket, CORSConfiguration=BAD_CORS)
