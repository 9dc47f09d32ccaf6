"""Answers shaped as real AWS gives them, on moto: botocore hooks that add what moto leaves out.

moto answers with the fields it models. Real AWS answers with more (DescribeAddresses' NetworkBorderGroup
and PublicIpv4Pool, DescribeConfigurationSet's ReputationOptions, ...), and without some that moto still
sends (an Organizations account's retired Status). A branch that only such a field takes never runs under
moto unless the test puts the field there. `reshape` does: an `after-call` hook edits the parsed answer
in place, before the code under test reads it. `requests` records what the code asked for, so a test can
check that a field it read went back out in the next request. docs/testing.md ("Where moto is lenient:
real response shapes") lists the calls and fields, and the test of each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

Change = Callable[[dict[str, Any]], None]

# What real DescribeAddresses gives every Amazon-owned Elastic IP, and moto leaves out.
AMAZON_POOL = "amazon"
VPC = "vpc"
# moto answers "" for these on an address that is not associated; AWS leaves the keys out.
ASSOCIATION_KEYS = ("AssociationId", "InstanceId", "NetworkInterfaceId", "NetworkInterfaceOwnerId")


def _event_name(service_client: Any, stage: str, operation: str) -> str:
    # botocore names a client's events after its service id, hyphenised ("ec2", "ses", "organizations").
    return f"{stage}.{service_client.meta.service_model.service_id.hyphenize()}.{operation}"


def reshape(service_client: Any, operation: str, change: Change) -> None:
    """Run `change` on each successful answer to `operation` (e.g. "DescribeAddresses") the client gets,
    a dict it edits in place. An error answer is left as it is."""

    def hook(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        if http_response.status_code < 300 and "Error" not in parsed:
            change(parsed)

    service_client.meta.events.register(_event_name(service_client, "after-call", operation), hook)


def requests(service_client: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of every `operation` call the client makes from now on, as the code passed them
    (paginators' calls included). The list fills as the calls are made."""
    seen: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    service_client.meta.events.register(_event_name(service_client, "provide-client-params", operation), hook)
    return seen


def real_address(address: dict[str, Any], *, region: str, **fields: Any) -> None:
    """Make one DescribeAddresses entry look as AWS gives it, in place: from the Amazon pool and the
    region's own network border group (unless `fields` say otherwise), with no empty association keys
    and no empty Tags (AWS leaves both out); then `fields` on top."""
    for key in ASSOCIATION_KEYS:
        if address.get(key) == "":
            del address[key]
    if not address.get("Tags"):
        address.pop("Tags", None)
    address.setdefault("Domain", VPC)
    address.setdefault("PublicIpv4Pool", AMAZON_POOL)
    address.setdefault("NetworkBorderGroup", region)
    address.update(fields)


def real_addresses(ec2: Any, by_allocation_id: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Every DescribeAddresses answer the client gets, entry by entry as AWS gives it (real_address);
    `by_allocation_id` adds or overrides fields of single addresses (a Local Zone's border group, a BYOIP
    pool)."""
    region = str(ec2.meta.region_name)
    overrides = by_allocation_id or {}

    def change(parsed: dict[str, Any]) -> None:
        for address in parsed.get("Addresses", []):
            real_address(address, region=region, **overrides.get(str(address.get("AllocationId")), {}))

    reshape(ec2, "DescribeAddresses", change)


def one_item_per_batch(dynamodb: Any) -> Counter[str]:
    """DynamoDB processing one item of each BatchGetItem and BatchWriteItem, as it may when the batch is
    throttled or too large, and returning the rest as UnprocessedKeys / UnprocessedItems for the caller
    to send again; moto always processes the whole batch. The rest never reaches moto, so a caller that
    does not send it again loses it. Returns how many keys and writes were left unprocessed, by operation."""
    left: Counter[str] = Counter()
    tails: dict[str, dict[str, Any]] = {}

    def first_only(params: dict[str, Any], model: Any, **_: Any) -> dict[str, Any] | None:
        name = model.name
        kept: dict[str, Any] = {}
        tail: dict[str, Any] = {}
        for table, wanted in params["RequestItems"].items():
            if name == "BatchGetItem":
                keys = list(wanted["Keys"])
                kept[table] = {**wanted, "Keys": keys[:1]}
                if keys[1:]:
                    tail[table] = {**wanted, "Keys": keys[1:]}
                    left[name] += len(keys) - 1
            else:
                writes = list(wanted)
                kept[table] = writes[:1]
                if writes[1:]:
                    tail[table] = writes[1:]
                    left[name] += len(writes) - 1
        tails[name] = tail
        return {**params, "RequestItems": kept} if tail else None

    def unprocessed(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        field = "UnprocessedKeys" if model.name == "BatchGetItem" else "UnprocessedItems"
        parsed[field] = tails.pop(model.name, {})

    for operation in ("BatchGetItem", "BatchWriteItem"):
        events = dynamodb.meta.events
        events.register(_event_name(dynamodb, "provide-client-params", operation), first_only)
        events.register(_event_name(dynamodb, "after-call", operation), unprocessed)
    return left
