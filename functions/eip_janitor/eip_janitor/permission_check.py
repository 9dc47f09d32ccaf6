"""Asks EC2 whether a real run could release addresses, without releasing one (DryRun=True)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eip_janitor.release_budget import Candidate
from eip_janitor.report import AWS_FAILURES, PermissionCheck, failure_code
from groundskeeper.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

ALLOWED = "DryRunOperation"
DENIED = frozenset({"UnauthorizedOperation", "AuthFailure", "AccessDenied"})


def check_release_permission(
    ec2_for: Callable[[str], EC2Client], candidate: Candidate | None
) -> PermissionCheck:
    """`allowed` is True or False when EC2 answered the question, None when it could not be asked."""
    if candidate is None:
        return {"action": "ec2:ReleaseAddress", "allowed": None, "code": "NothingToRelease"}
    kwargs: dict[str, Any] = {"AllocationId": candidate.allocation_id, "DryRun": True}
    if candidate.address.get("NetworkBorderGroup"):
        kwargs["NetworkBorderGroup"] = candidate.address["NetworkBorderGroup"]
    try:
        ec2_for(candidate.region).release_address(**kwargs)
    except AWS_FAILURES as exc:
        code = failure_code(exc)
        allowed: bool | None = True if error_code(exc) == ALLOWED else (False if code in DENIED else None)
    else:
        # EC2 always answers a dry run with an error; success would mean DryRun was ignored.
        allowed, code = None, "UnexpectedSuccess"
    return {
        "action": "ec2:ReleaseAddress",
        "region": candidate.region,
        "allocation_id": candidate.allocation_id,
        "allowed": allowed,
        "code": code,
    }
