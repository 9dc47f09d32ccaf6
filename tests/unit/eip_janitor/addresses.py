"""Builders for DescribeAddresses entries, as plain dicts, for the pure-logic tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
IDLE = "groundskeeper:idle-since"
KEEP = "groundskeeper:keep"


def address(
    allocation_id: str = "eipalloc-1", *, tags: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "AllocationId": allocation_id,
        "PublicIp": "203.0.113.10",
        "Domain": "vpc",
        "PublicIpv4Pool": "amazon",
        "NetworkBorderGroup": "us-east-1",
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    entry.update(fields)
    return entry


def idle_for(hours: float) -> dict[str, str]:
    """An idle tag written `hours` before NOW."""
    return {IDLE: (NOW - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")}
