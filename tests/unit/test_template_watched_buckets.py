"""WatchedBuckets as CloudFormation would resolve it: the EventBridge rule, its invoke permission, and the
auditor's S3 read (CORS and the allowlist tag) on exactly the buckets it may be sent events for."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.rehearse.transform import transformed

ACCOUNT = "123456789012"
STACK = "gk"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": STACK,
}
NO_VALUE = object()


class Resolver:
    """Just the intrinsics this part of the template uses, over given parameter values."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        self.values: dict[str, Any] = dict(PSEUDO)
        for name, spec in template["Parameters"].items():
            raw = parameters.get(name, spec.get("Default", ""))
            self.values[name] = str(raw).split(",") if spec["Type"] == "CommaDelimitedList" else str(raw)
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def resolve(self, node: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per intrinsic
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.values.get(arg, f"<{arg}>")
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Fn::Join":
                return arg[0].join(self.resolve(arg[1]))
            if key == "Fn::Split":
                return self.resolve(arg[1]).split(arg[0])
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                for name, value in {**self.values, **extra}.items():
                    if isinstance(value, str):
                        text = text.replace("${" + name + "}", value)
                return text
            if key == "Fn::GetAtt":
                return f"<{'.'.join(arg) if isinstance(arg, list) else arg}>"
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not NO_VALUE}


def deployed(parameters: dict[str, str]) -> dict[str, Any]:
    """The resources CloudFormation would create, conditions applied and intrinsics resolved."""
    template = transformed(parameters=parameters)
    resolver = Resolver(template, parameters)
    return {
        name: resolver.resolve(resource)
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }


def auditor_statement(resources: dict[str, Any], sid: str) -> dict[str, Any]:
    (policy,) = resources["CorsAuditorFunctionRole"]["Properties"]["Policies"]
    (statement,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == sid]
    return statement


UPLOADS = f"arn:aws:s3:::{STACK}-uploads-{ACCOUNT}"


def test_off_by_default() -> None:
    resources = deployed({})
    assert "WatchedBucketsRule" not in resources
    assert "WatchedBucketsInvokeAuditor" not in resources
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
    assert permission["FunctionName"] == target["Arn"]
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
