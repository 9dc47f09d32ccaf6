"""Records every AWS request the code under test makes, as IAM authorises it: the action, the resource ARN and
the condition context the real request would carry.

Every botocore client created while the recorder is installed gets two hooks: one keeps the call's
parameters, the other (first in line, before any test's own stub) turns the call into IAM requests. Only
calls made while a flow is open are recorded, so a world's setup through the same cached clients is not.
The caller's identity comes from the credentials that signed the call: an AssumeRole answer's access key
maps to its role; anything else is the function's own role."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import botocore.session
import moto.backends

# The stack's own identity (the function's role) is written as this and filled in by the evaluator.
OWN_ROLE = "function-role"


@dataclass(frozen=True)
class IamRequest:
    """One authorisation AWS makes for a call: some calls are several (a transaction, one per item)."""

    flow: str  # the handler (module.attribute) that ran
    operation: str  # service.Operation, as botocore names it
    action: str
    resource: str
    account: str  # the account that owns the resource
    principal: str  # OWN_ROLE, or the ARN of the assumed role that signed the call
    region: str
    context: dict[str, str | list[str]] = field(default_factory=dict)

    def key(self) -> tuple[Any, ...]:
        context = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in self.context.items()))
        return (self.principal, self.action, self.resource, self.account, context)


class Unmapped(Exception):
    """A call the recorder does not know how IAM authorises: teach it (ACTIONS below), do not skip it."""


# botocore operation -> IAM action, where they differ by more than the service prefix.
ACTIONS = {
    "s3.GetBucketCors": "s3:GetBucketCORS",
    "s3.PutBucketCors": "s3:PutBucketCORS",
    "s3.DeleteBucketCors": "s3:PutBucketCORS",
    "s3.ListBuckets": "s3:ListAllMyBuckets",
    "s3.GetBucketTagging": "s3:GetBucketTagging",
    "s3.HeadBucket": "s3:ListBucket",
    "s3.GetBucketLocation": "s3:GetBucketLocation",
    "s3.PutBucketNotificationConfiguration": "s3:PutBucketNotification",
    "s3.GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "sqs.SendMessageBatch": "sqs:SendMessage",
    "sqs.DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs.ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "ses.SendEmail": "ses:SendEmail",
    "ses.SendRawEmail": "ses:SendRawEmail",
}
# Actions that support no resource type: AWS authorises them on "*".
NO_RESOURCE = {
    "ec2:DescribeAddresses",
    "ec2:DescribeRegions",
    "ec2:DescribeNetworkInterfaces",
    "route53:ListHostedZones",
    "s3:ListAllMyBuckets",
    "ses:GetTemplate",
    "ses:CreateTemplate",
    "ses:UpdateTemplate",
    "ses:DeleteTemplate",
    "ses:ListTemplates",
    "ses:GetSendQuota",
    "organizations:ListAccounts",
    "organizations:DescribeOrganization",
    "sts:GetCallerIdentity",
}
_TRANSACT_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_ADDRESS = re.compile(r"<?([^<>\s]+@[^<>\s]+)>?\s*$")


class Recorder:
    def __init__(self, account: str) -> None:
        self.account = account  # the stack's account: whose credentials the functions run with
        self.requests: list[IamRequest] = []
        self.flow: str | None = None
        self.assumed: dict[str, str] = {}  # access key id -> role ARN
        self.unmapped: list[str] = []  # calls no rule below knows: the proof fails on any
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ installation
    @contextlib.contextmanager
    def installed(self) -> Iterator[Recorder]:
        """Hook every client created from now on (the cached ones must be made again: reset_clients)."""
        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            made = original(session, *args, **kwargs)
            recorder.hook(made)
            return made

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original  # type: ignore[method-assign]

    def hook(self, client: Any) -> None:
        events = client.meta.events
        events.register_first("before-parameter-build.*.*", self._keep_params)
        events.register_first("before-call.*.*", self._record)
        events.register("after-call.sts.AssumeRole", self._remember_role)

    @contextlib.contextmanager
    def flow_of(self, handler: str) -> Iterator[None]:
        self.flow = handler
        try:
            yield
        finally:
            self.flow = None

    # ------------------------------------------------------------------ hooks
    def _keep_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self.flow is not None:
            context["iam_params"] = dict(params)

    def _remember_role(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        credentials = parsed.get("Credentials")
        params = context.get("iam_params") or {}
        if credentials and "RoleArn" in params:
            with self._lock:
                self.assumed[credentials["AccessKeyId"]] = params["RoleArn"]

    def _record(self, model: Any, request_signer: Any, context: dict[str, Any], **_: Any) -> None:
        if self.flow is None or "iam_params" not in context:
            return
        service = model.service_model.service_name
        region = request_signer._region_name or "us-east-1"
        credentials = request_signer._credentials
        access_key = credentials.get_frozen_credentials().access_key if credentials else ""
        role = self.assumed.get(access_key)
        caller_account = role.split(":")[4] if role else self.account
        try:
            made = self.requests_for(service, model.name, context["iam_params"], region, caller_account)
        except Exception as error:  # noqa: BLE001
            # Never raised into the code under test, which might take it for an AWS failure and carry on.
            with self._lock:
                self.unmapped.append(f"{self.flow}: {service}.{model.name}: {error!r}")
            return
        with self._lock:
            for action, resource, account, extra in made:
                self.requests.append(
                    IamRequest(
                        flow=self.flow,
                        operation=f"{service}.{model.name}",
                        action=action,
                        resource=resource,
                        account=account,
                        principal=role or OWN_ROLE,
                        region=region,
                        context={
                            "aws:RequestedRegion": region,
                            "aws:ResourceAccount": account,
                            "aws:SecureTransport": "true",
                            **extra,
                        },
                    )
                )

    # ------------------------------------------------------------------ operation -> IAM requests
    def requests_for(
        self, service: str, operation: str, params: dict[str, Any], region: str, caller: str
    ) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(action, resource ARN, resource account, condition keys) per authorisation the call needs."""
        action = ACTIONS.get(f"{service}.{operation}", f"{service}:{operation}")
        if action in NO_RESOURCE:
            return [(action, "*", caller, {})]
        builders: dict[str, Callable[..., list[tuple[str, str, str, dict[str, Any]]]]] = {
            "s3": self._s3,
            "sqs": self._sqs,
            "dynamodb": self._dynamodb,
            "ses": self._ses,
            "ec2": self._ec2,
            "route53": self._route53,
            "sts": self._sts,
            "organizations": self._organizations,
        }
        build = builders.get(service)
        if build is None:
            raise Unmapped(f"{service}.{operation}")
        return build(action, operation, params, region, caller)

    def _s3(self, action: str, operation: str, params: dict[str, Any], region: str, caller: str) -> Any:
        if "Bucket" not in params:
            raise Unmapped(f"s3.{operation}")
        bucket = params["Bucket"]
        owner = moto.backends.get_backend("s3").bucket_accounts.get(bucket, ("aws", caller))[1]
        return [(action, f"arn:aws:s3:::{bucket}", owner, {"s3:ResourceAccount": owner})]

    def _sqs(self, action: str, operation: str, params: dict[str, Any], region: str, caller: str) -> Any:
        if "QueueUrl" not in params:
            raise Unmapped(f"sqs.{operation}")
        path = urlparse(params["QueueUrl"]).path.strip("/").split("/")
        account, name = path[-2], path[-1]
        queue_region = urlparse(params["QueueUrl"]).hostname.split(".")[1]  # type: ignore[union-attr]
        return [(action, f"arn:aws:sqs:{queue_region}:{account}:{name}", account, {})]

    def _dynamodb(self, action: str, operation: str, params: dict[str, Any], region: str, caller: str) -> Any:
        def table_arn(table: str) -> str:
            return f"arn:aws:dynamodb:{region}:{caller}:table/{table}"

        def leading(table: str, item: dict[str, Any]) -> list[str]:
            hash_key = moto.backends.get_backend("dynamodb")[caller][region].tables[table].hash_key_attr
            (value,) = item[hash_key].values()
            return [str(value)]

        if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            item = params.get("Key") or params["Item"]
            return [(action, table_arn(table), caller, {"dynamodb:LeadingKeys": leading(table, item)})]
        if operation in ("TransactWriteItems", "TransactGetItems"):
            out = []
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                item_action = "dynamodb:GetItem" if kind == "Get" else _TRANSACT_ITEMS[kind]
                table = body["TableName"]
                item = body.get("Key") or body["Item"]
                out.append(
                    (item_action, table_arn(table), caller, {"dynamodb:LeadingKeys": leading(table, item)})
                )
            return out
        if operation == "BatchWriteItem":
            # IAM authorises a batch write as dynamodb:BatchWriteItem, once per table with every item's
            # partition key (a transaction, above, is authorised item by item instead).
            return [
                (
                    action,
                    table_arn(table),
                    caller,
                    {
                        "dynamodb:LeadingKeys": sorted(
                            {
                                k
                                for write in writes
                                for body in write.values()
                                for k in leading(table, body.get("Item") or body["Key"])
                            }
                        )
                    },
                )
                for table, writes in params["RequestItems"].items()
            ]
        if operation == "Query":
            # The partition key's value, as the key condition binds it: dynamodb:LeadingKeys of a Query.
            table = params["TableName"]
            hash_key = moto.backends.get_backend("dynamodb")[caller][region].tables[table].hash_key_attr
            names = {v: k for k, v in params.get("ExpressionAttributeNames", {}).items()}
            values = params.get("ExpressionAttributeValues", {})
            bound = re.findall(r"(#?\w+)\s*=\s*(:\w+)", params["KeyConditionExpression"])
            keys = [
                str(next(iter(values[value].values())))
                for name, value in bound
                if names.get(name, name) == hash_key
            ]
            return [(action, table_arn(table), caller, {"dynamodb:LeadingKeys": keys})]
        if operation == "BatchGetItem":
            return [
                (
                    action,
                    table_arn(table),
                    caller,
                    {
                        "dynamodb:LeadingKeys": sorted(
                            {k for key in spec["Keys"] for k in leading(table, key)}
                        )
                    },
                )
                for table, spec in params["RequestItems"].items()
            ]
        raise Unmapped(f"dynamodb.{operation}")

    def _ses(self, action: str, operation: str, params: dict[str, Any], region: str, caller: str) -> Any:
        if operation not in ("SendEmail", "SendRawEmail"):
            raise Unmapped(f"ses.{operation}")
        match = _ADDRESS.search(params["Source"])
        address = match.group(1) if match else params["Source"]
        backend = moto.backends.get_backend("ses")[caller][region]
        identity = address if address in backend.email_identities else address.split("@", 1)[1]
        context = {"ses:FromAddress": address}
        out = [(action, f"arn:aws:ses:{region}:{caller}:identity/{identity}", caller, context)]
        if params.get("ConfigurationSetName"):
            name = params["ConfigurationSetName"]
            out.append((action, f"arn:aws:ses:{region}:{caller}:configuration-set/{name}", caller, context))
        return out

    def _ec2(self, action: str, operation: str, params: dict[str, Any], region: str, caller: str) -> Any:
        backend = moto.backends.get_backend("ec2")[caller][region]

        def tags_of(resource_id: str) -> dict[str, str]:
            return {
                t["key"]: t["value"] for t in backend.describe_tags(filters={"resource-id": [resource_id]})
            }

        def arn(resource_id: str) -> str:
            if not resource_id.startswith("eipalloc-"):
                raise Unmapped(f"ec2.{operation} on {resource_id}")
            return f"arn:aws:ec2:{region}:{caller}:elastic-ip/{resource_id}"

        def resource_tags(resource_id: str) -> dict[str, Any]:
            return {f"aws:ResourceTag/{k}": v for k, v in tags_of(resource_id).items()}

        if operation == "ReleaseAddress":
            allocation = params["AllocationId"]
            return [(action, arn(allocation), caller, resource_tags(allocation))]
        if operation in ("CreateTags", "DeleteTags"):
            out = []
            for resource_id in params["Resources"]:
                tags = params.get("Tags")
                context = resource_tags(resource_id)
                # A DeleteTags without Tags (which removes every tag) carries no aws:TagKeys at all.
                if tags is not None:
                    context["aws:TagKeys"] = sorted({t["Key"] for t in tags})
                    if operation == "CreateTags":
                        context.update({f"aws:RequestTag/{t['Key']}": t.get("Value", "") for t in tags})
                out.append((action, arn(resource_id), caller, context))
            return out
        raise Unmapped(f"ec2.{operation}")

    def _route53(self, action: str, operation: str, params: dict[str, Any], region: str, caller: str) -> Any:
        if "HostedZoneId" not in params:
            raise Unmapped(f"route53.{operation}")
        zone = params["HostedZoneId"].rsplit("/", 1)[-1]
        return [(action, f"arn:aws:route53:::hostedzone/{zone}", caller, {})]

    def _sts(self, action: str, operation: str, params: dict[str, Any], region: str, caller: str) -> Any:
        if operation != "AssumeRole":
            raise Unmapped(f"sts.{operation}")
        role = params["RoleArn"]
        return [(action, role, role.split(":")[4], {})]

    def _organizations(
        self, action: str, operation: str, params: dict[str, Any], region: str, caller: str
    ) -> Any:
        if operation != "ListTagsForResource":
            raise Unmapped(f"organizations.{operation}")
        target = params["ResourceId"]
        for backend in moto.backends.get_backend("organizations").values():
            org = backend["aws"].org
            if org is not None and backend["aws"].account_id == org.master_account_id:
                for account in backend["aws"].accounts:
                    if account.id == target:
                        return [(action, account.arn, org.master_account_id, {})]
        raise Unmapped(f"organizations.{operation} on {target}: not an account of an organization")
