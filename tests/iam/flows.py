"""The functions' main paths under moto, each run by its handler as the template names it, with the
environment the template gives that function, from a cold start.

The world is built from the resolved template (its queues, table, bucket and SES configuration set, under
the names the policies name) plus what the flows act on: buckets with bad CORS, idle Elastic IPs, a hosted
zone, member accounts seeded through assumed roles. A flow names a handler only: which function runs it,
and so which role authorises its requests, is the template's business (Handler)."""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from groundskeeper.aws_clients import reset_clients
from scripts.pipeline.moto_server import serialise_dynamodb
from tests.conftest import load_event
from tests.iam.recorder import Recorder
from tests.iam.stack import Stack
from tests.integration.org.conftest import member_client, seed_member
from tests.lambda_context import FakeLambdaContext

REGION = "us-east-1"
# Each trigger's entry point, as the template's Handler properties name them.
UPLOADS = "cors_auditor.handlers.uploads.lambda_handler"
CORS_CHANGE = "cors_auditor.handlers.cors_change.lambda_handler"
SWEEP = "cors_auditor.handlers.sweep.lambda_handler"
WATCHED = "cors_auditor.handlers.watched_buckets.lambda_handler"
JANITOR = "eip_janitor.handlers.schedule.lambda_handler"
PLANNER = "org_planner.handler.lambda_handler"
CORS_WORKER = "cors_auditor.handlers.org_work.lambda_handler"
EIP_WORKER = "eip_janitor.handlers.org_work.lambda_handler"
SENDER = "email_sender.handler.lambda_handler"
# Hub mode: each job's worker, by the job the planner is asked to plan.
WORKER_OF = {"eip-janitor": EIP_WORKER, "cors-sweep": CORS_WORKER}
# The packages a cold start imports afresh: the function's own and the hub layer's.
FRESH_PACKAGES = ("cors_auditor", "eip_janitor", "email_sender", "org_planner", "groundskeeper_org")
IDLE = "groundskeeper:idle-since"
KEEP = "groundskeeper:keep"
WILDCARD_WRITE = {
    "CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"]}]
}
GOOD_CORS = {"CORSRules": [{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}]}


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def cold_start(handler: str, environment: dict[str, str]) -> Iterator[Callable[..., Any]]:
    """The handler's packages imported afresh (a new execution environment) with the function's environment;
    the modules and the environment put back as they were after, so nothing else sees this import."""
    module_name, attribute = handler.rsplit(".", 1)
    saved_env = {key: os.environ.get(key) for key in environment}
    os.environ.update({key: str(value) for key, value in environment.items()})
    saved_modules = {
        name: module for name, module in sys.modules.items() if name.split(".", 1)[0] in FRESH_PACKAGES
    }
    for name in saved_modules:
        del sys.modules[name]
    reset_clients()
    try:
        yield getattr(importlib.import_module(module_name), attribute)
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for name in [n for n in sys.modules if n.split(".", 1)[0] in FRESH_PACKAGES]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
        reset_clients()


class World:
    """One stack's resources and its flows' targets in moto, and a way to run a handler in it."""

    def __init__(self, stack: Stack, recorder: Recorder) -> None:
        self.stack = stack
        self.recorder = recorder
        self.functions = stack.functions()
        self.invocations = 0
        self.queues: dict[str, str] = {}
        self._provision()

    # ------------------------------------------------------------------ the stack's own resources
    def _provision(self) -> None:
        self._provision_stack(self.stack)
        ses = boto3.client("ses", region_name=REGION)
        for address in [self.stack.values["SenderEmail"], *self.stack.values["AllowedSenders"].split(",")]:
            if address:
                ses.verify_email_identity(EmailAddress=address)

    def _provision_stack(self, stack: Stack) -> None:
        """The stack's queues, tables, buckets and configuration sets, and its nested stacks' (hub.yaml)."""
        resources = stack.template["Resources"]
        for logical_id in stack.resources_of("AWS::CloudFormation::Stack"):
            self._provision_stack(stack.nested(logical_id))
        sqs = boto3.client("sqs", region_name=REGION)
        for logical_id in stack.resources_of("AWS::SQS::Queue"):
            self.queues[logical_id] = sqs.create_queue(QueueName=stack.physical_name(logical_id))["QueueUrl"]
            assert self.queues[logical_id] == stack.ref(logical_id)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for logical_id in stack.resources_of("AWS::DynamoDB::Table"):
            props = stack.resolve(resources[logical_id]["Properties"])
            dynamodb.create_table(
                TableName=stack.physical_name(logical_id),
                KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
            )
        s3 = boto3.client("s3", region_name=REGION)
        for logical_id in stack.resources_of("AWS::S3::Bucket"):
            s3.create_bucket(Bucket=stack.physical_name(logical_id))
        ses = boto3.client("ses", region_name=REGION)
        for logical_id in stack.resources_of("AWS::SES::ConfigurationSet"):
            ses.create_configuration_set(ConfigurationSet={"Name": stack.physical_name(logical_id)})

    # ------------------------------------------------------------------ running
    def invoke(self, handler: str, event: Any) -> Any:
        function = self.functions.get(handler)
        if function is None:
            raise LookupError(f"no function of the template has Handler {handler}: {sorted(self.functions)}")
        self.invocations += 1
        # Lambda sets the function's name; the sender's idempotency keys start with it.
        environment = {**function.environment, "AWS_LAMBDA_FUNCTION_NAME": function.name}
        context = FakeLambdaContext(
            function_name=function.name,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{self.stack.account}:function:{function.name}",
        )
        with cold_start(handler, environment) as entry, self.recorder.flow_of(handler):
            return entry(event, context)

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """The queue's messages as SQS event records (the event source mapping's view), deleted."""
        sqs = boto3.client("sqs", region_name=REGION)
        account, name = queue_url.rstrip("/").split("/")[-2:]
        arn = f"arn:aws:sqs:{REGION}:{account}:{name}"
        template = load_event("sqs-email-request.json")["Records"][0]
        records = []
        while found := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in found:
                records.append(
                    {
                        **copy.deepcopy(template),
                        "messageId": message["MessageId"],
                        "receiptHandle": message["ReceiptHandle"],
                        "body": message["Body"],
                        "eventSourceARN": arn,
                    }
                )
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return records

    def queue_url(self, environment_key: str, handler: str) -> str:
        return self.functions[handler].environment[environment_key]


# ---------------------------------------------------------------------------- the flows
def s3_upload_event(bucket: str, key: str) -> dict[str, Any]:
    record = copy.deepcopy(load_event("s3-object-created.json")["Records"][0])
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["s3"]["object"]["key"] = key
    return {"Records": [record]}


def cors_change_event(bucket: str) -> dict[str, Any]:
    event = load_event("cloudtrail-put-bucket-cors.json")
    event["detail"]["requestParameters"]["bucketName"] = bucket
    event["detail"]["requestParameters"]["Host"] = f"{bucket}.s3.amazonaws.com"
    event["id"] = str(uuid.uuid4())
    return event


def scheduled(name: str) -> dict[str, Any]:
    event = load_event(name)
    event["id"] = str(uuid.uuid4())
    return event


def seed_buckets(account: str) -> list[str]:
    """Buckets of the account for the CORS-change and sweep paths: one bad, one good, one bad but tagged."""
    s3 = boto3.client("s3", region_name=REGION)
    names = [f"site-{account}", f"good-site-{account}", f"tagged-site-{account}"]
    for name, cors in zip(names, (WILDCARD_WRITE, GOOD_CORS, WILDCARD_WRITE), strict=True):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors)  # type: ignore[arg-type]
    s3.put_bucket_tagging(
        Bucket=names[2], Tagging={"TagSet": [{"Key": "groundskeeper:cors-allowed-origins", "Value": "*"}]}
    )
    return names


def seed_addresses() -> dict[str, str]:
    """The janitor's single-account world: every kind of address, and a hosted zone naming one."""
    ec2 = boto3.client("ec2", region_name=REGION)

    def allocate(**tags: str) -> str:
        spec = [{"ResourceType": "elastic-ip", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        kwargs: dict[str, Any] = {"Domain": "vpc", "TagSpecifications": spec} if tags else {"Domain": "vpc"}
        return str(ec2.allocate_address(**kwargs)["AllocationId"])

    addresses = {
        "due": allocate(**{IDLE: days_ago(30)}),
        "new-idle": allocate(),
        "kept": allocate(**{KEEP: "yes", IDLE: days_ago(30)}),
        "named-in-dns": allocate(**{IDLE: days_ago(30)}),
        "back-in-use": allocate(**{IDLE: days_ago(2)}),
    }
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    ec2.associate_address(AllocationId=addresses["back-in-use"], NetworkInterfaceId=eni)
    ip = ec2.describe_addresses(AllocationIds=[addresses["named-in-dns"]])["Addresses"][0]["PublicIp"]
    route53 = boto3.client("route53", region_name=REGION)
    zone = route53.create_hosted_zone(Name="example.com", CallerReference=str(uuid.uuid4()))["HostedZone"][
        "Id"
    ]
    record = {"Name": "www.example.com", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": ip}]}
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]}
    )
    return addresses


def seed_member_extras(account: str) -> None:
    """What seed_member leaves out: a marked address back in use (its mark is removed) and a hosted zone."""
    ec2 = member_client(account, "ec2", REGION)
    spec = [{"ResourceType": "elastic-ip", "Tags": [{"Key": IDLE, "Value": days_ago(1)}]}]
    back = ec2.allocate_address(Domain="vpc", TagSpecifications=spec)["AllocationId"]
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.0.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    ec2.associate_address(AllocationId=back, NetworkInterfaceId=eni)
    route53 = member_client(account, "route53", REGION)
    route53.create_hosted_zone(Name=f"a{account}.example.com", CallerReference=str(uuid.uuid4()))


def object_created_event(bucket: str, key: str) -> dict[str, Any]:
    event = load_event("eventbridge-s3-object-created.json")
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["id"] = str(uuid.uuid4())
    return event


def plan_request(job: str) -> dict[str, Any]:
    """What the planner's schedule target sends: the job, and the scheduled event's id as the run id."""
    return {"job": job, "id": str(uuid.uuid4()), "time": "2026-11-22T06:00:00Z"}


def send_the_emails(world: World) -> None:
    """The sender takes what the other flows queued, then the same batch again (duplicates), then a request
    it can never send (dead-lettered with its reason)."""
    email_queue = world.queue_url("NOTIFY_QUEUE_URL", UPLOADS)
    records = world.drain(email_queue)
    assert records, "the flows queued no email: NotifyEmail must be set in the parameter set"
    for start in range(0, len(records), 10):
        world.invoke(SENDER, {"Records": records[start : start + 10]})
    world.invoke(SENDER, {"Records": records[:10]})
    poison = {
        **records[0],
        "messageId": str(uuid.uuid4()),
        "body": json.dumps({"template": "no-such", "to": []}),
    }
    world.invoke(SENDER, {"Records": [poison]})


def audit_the_hubs_buckets(world: World) -> None:
    """The single-account auditor functions the parameter set deploys, each on its own trigger's event."""
    values = world.stack.values
    uploads = world.stack.physical_name("UploadsBucket")
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_bucket_cors(Bucket=uploads, CORSConfiguration=WILDCARD_WRITE)  # type: ignore[arg-type]
    buckets = seed_buckets(world.stack.account)
    world.invoke(UPLOADS, s3_upload_event(uploads, "reports/today.csv"))
    if values["CorsChangeTrigger"] == "true":
        for bucket in buckets:
            world.invoke(CORS_CHANGE, cors_change_event(bucket))
    if SWEEP in world.functions:
        world.invoke(SWEEP, scheduled("schedule-cors-sweep.json"))
    watched = [name for name in values["WatchedBuckets"] if name]
    if watched:
        for bucket in buckets if watched == ["*"] else watched:
            world.invoke(WATCHED, object_created_event(bucket, "assets/app.js"))


def single_account_flows(world: World) -> None:
    audit_the_hubs_buckets(world)
    seed_addresses()
    world.invoke(JANITOR, scheduled("schedule-eip-janitor.json"))
    world.invoke(JANITOR, scheduled("schedule-eip-janitor.json"))  # a later run: marked addresses now known
    send_the_emails(world)


def hub_flows(world: World, members: list[str]) -> None:
    """The hub's own account through its single-account functions (the janitor by hand, as in hub mode);
    then each job's run: the planner plans one work item per member account, and each item, delivered alone
    as the work queue's mapping does, is swept in its account through that account's member role."""
    for account in members:
        if account != world.stack.account:
            seed_member(account, (REGION,), WILDCARD_WRITE)
            seed_member_extras(account)
    audit_the_hubs_buckets(world)
    seed_addresses()
    world.invoke(JANITOR, {"manual": True})
    jobs = ["eip-janitor"]
    if world.stack.values["CorsSweepEnabled"] == "true":
        jobs.append("cors-sweep")
    planner = world.functions[PLANNER].environment
    work_queue = {
        "eip-janitor": planner["JANITOR_WORK_QUEUE_URL"],
        "cors-sweep": planner["CORS_SWEEP_WORK_QUEUE_URL"],
    }
    for job in jobs:
        world.invoke(PLANNER, plan_request(job))
        for record in world.drain(work_queue[job]):
            world.invoke(WORKER_OF[job], {"Records": [record]})
    send_the_emails(world)


def run_flows(world: World, members: list[str]) -> None:
    with serialise_dynamodb():
        if members:
            hub_flows(world, members)
        else:
            single_account_flows(world)
