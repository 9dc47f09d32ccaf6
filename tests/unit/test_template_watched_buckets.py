"""WatchedBuckets as CloudFormation would resolve it: the EventBridge rule, its invoke permission, and the
auditor's S3 read (CORS and the allowlist tag) on exactly the buckets it may be sent events for."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.deployed_template import ACCOUNT, STACK, deployed


def auditor_statement(resources: dict[str, Any], sid: str) -> dict[str, Any]:
    (policy,) = resources["CorsAuditorFunctionRole"]["Properties"]["Policies"]
    (statement,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == sid]
    return statement


UPLOADS = f"arn:aws:s3:::{STACK}-uploads-{ACCOUNT}"


def test_off_by_default() -> None:
    resources = deployed({})
    assert "WatchedBucketsRule" not in resources
    assert "WatchedBucketsInvokeAuditor" not in resources
    assert "WatchedBucketsAuditFunction" not in resources
    read = auditor_statement(resources, "ReadCors")
    assert read["Resource"] == UPLOADS
    assert read["Action"] == ["s3:GetBucketCORS", "s3:GetBucketTagging"]


@pytest.mark.parametrize("remediation", ["off", "fix"])
def test_listed_buckets(remediation: str) -> None:
    resources = deployed({"WatchedBuckets": "site-a,site-b", "CorsRemediation": remediation})
    pattern = resources["WatchedBucketsRule"]["Properties"]["EventPattern"]
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "account": [ACCOUNT],
        "detail": {"bucket": {"name": ["site-a", "site-b"]}},
    }
    (target,) = resources["WatchedBucketsRule"]["Properties"]["Targets"]
    permission = resources["WatchedBucketsInvokeAuditor"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == "<WatchedBucketsRule.Arn>"
    assert permission["FunctionName"] == target["Arn"] == "<WatchedBucketsAuditFunctionAliaslive>"
    function = resources["WatchedBucketsAuditFunction"]["Properties"]
    assert function["Handler"] == "cors_auditor.handlers.watched_buckets.lambda_handler"
    assert function["Role"] == "<CorsAuditorFunctionRole.Arn>"
    expected = [UPLOADS, "arn:aws:s3:::site-a", "arn:aws:s3:::site-b"]
    assert auditor_statement(resources, "ReadCors")["Resource"] == expected
    if remediation == "fix":
        assert auditor_statement(resources, "RewriteCors")["Resource"] == expected


def test_every_bucket_of_the_account() -> None:
    resources = deployed({"WatchedBuckets": "*"})
    pattern = resources["WatchedBucketsRule"]["Properties"]["EventPattern"]
    assert pattern == {"source": ["aws.s3"], "detail-type": ["Object Created"], "account": [ACCOUNT]}
    read = auditor_statement(resources, "ReadCors")
    assert read["Resource"] == "arn:aws:s3:::*"
    assert read["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}


def test_the_tag_key_reaches_the_auditor() -> None:
    resources = deployed({"CorsAllowlistTag": "-"})
    variables = resources["CorsAuditorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["ALLOWLIST_TAG_KEY"] == "-"
