"""The deploy rehearsal on the embedded AWS: package the build to a bucket on a moto server, transform the
template as SAM would, create the stack through CloudFormation, and check what exists afterwards.

moto's CloudFormation has no SAM transform and drops some resource types and properties; what it drops is
checked on the transformed template instead (docs/deploy.md, "Rehearsal"). Run it with `make rehearse`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import boto3
from samcli.yamlhelper import yaml_parse

from scripts.rehearse.nested import NESTED_STACK, Attribute, Stack
from scripts.rehearse.transform import ROOT, transformed

STACK = "groundskeeper-rehearsal"
ARTIFACTS = "groundskeeper-rehearsal-artifacts"
REGION = "us-east-1"
PARAMETERS = {
    "SenderEmail": "reports@example.com",
    "NotifyEmail": "ops@example.com",
    "AlarmEmail": "oncall@example.com",
    "JanitorDryRun": "true",
}
FUNCTIONS = {
    "CorsAuditorFunction": ("cors-auditor", 120),
    "EmailSenderFunction": ("email-sender", 30),
    "EipJanitorFunction": ("eip-janitor", 300),
    "SenderCanaryFunction": ("sender-canary", 60),
}
OUTPUTS = {
    "EmailQueueUrl",
    "EmailQueueArn",
    "EmailDeadLetterQueueUrl",
    "EmailDeadLetterQueueArn",
    "AsyncFailureQueueArn",
    "AlarmTopicArn",
    "DashboardUrl",
    "CorsAuditorFunctionArn",
    "EmailSenderFunctionArn",
    "EipJanitorFunctionArn",
}
# The nested stack of the alarms and dashboards (templates/observability.yaml).
OBSERVABILITY = "Observability"
# Alarm logical id -> (metric or expression it watches, threshold), every alarm the nested template declares.
FUNCTION_FAILURES = ("FILL(errors, 0) + FILL(throttles, 0)", 0)
ALARMS = {
    "EmailDeadLetterAlarm": ("ApproximateNumberOfMessagesVisible", 0),
    "AsyncFailureAlarm": ("ApproximateNumberOfMessagesVisible", 0),
    "OrgWorkDeadLetterAlarm": ("ApproximateNumberOfMessagesVisible", 0),
    "EmailQueueAgeAlarm": ("ApproximateAgeOfOldestMessage", {"Ref": "QueueAgeAlarmSeconds"}),
    "EmailSendingPausedAlarm": ("EmailSendingPaused", 0),
    "CorsAuditorErrorsAlarm": FUNCTION_FAILURES,
    "EmailSenderErrorsAlarm": FUNCTION_FAILURES,
    "EmailSenderCanaryAlarm": ("FILL(failed, 0) + FILL(errors, 0)", 0),
    "EipJanitorErrorsAlarm": FUNCTION_FAILURES,
    "CorsChangeAuditErrorsAlarm": FUNCTION_FAILURES,
    "CorsSweepErrorsAlarm": FUNCTION_FAILURES,
    "WatchedBucketsAuditErrorsAlarm": FUNCTION_FAILURES,
    "CorsOrgWorkerErrorsAlarm": FUNCTION_FAILURES,
    "EipOrgWorkerErrorsAlarm": FUNCTION_FAILURES,
    "OrgPlannerErrorsAlarm": FUNCTION_FAILURES,
    "ScheduledRulesFailedAlarm": (
        "FILL(janitor, 0) + FILL(sweep, 0) + FILL(corschanged, 0) + FILL(watched, 0) + FILL(pausecheck, 0)",
        0,
    ),
    "JanitorAddressErrorsAlarm": ("AddressErrors", 0),
    "JanitorDnsGuardAlarm": ("DnsGuardFailures", 0),
    "SesBounceRateAlarm": ("Reputation.BounceRate", {"Ref": "BounceRateAlarmThreshold"}),
    "SesComplaintRateAlarm": ("Reputation.ComplaintRate", {"Ref": "ComplaintRateAlarmThreshold"}),
}
# The ones a single-account stack with the rehearsal's parameters creates: the others watch hub mode's queue
# or functions that only a setting deploys.
CREATED_ALARMS = {
    "EmailDeadLetterAlarm",
    "AsyncFailureAlarm",
    "EmailQueueAgeAlarm",
    "EmailSendingPausedAlarm",
    "CorsAuditorErrorsAlarm",
    "EmailSenderErrorsAlarm",
    "EmailSenderCanaryAlarm",
    "EipJanitorErrorsAlarm",
    "ScheduledRulesFailedAlarm",
    "JanitorAddressErrorsAlarm",
    "JanitorDnsGuardAlarm",
    "SesBounceRateAlarm",
    "SesComplaintRateAlarm",
}
# For moto only, a nested stack's output read by the root stands as this marker plus "<stack>.<output>".
NESTED_OUTPUT = "nested-output:"


@dataclass
class Checks:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def that(self, what: str, ok: bool, detail: Any = "") -> None:
        (self.passed if ok else self.failed).append(what if ok else f"{what}: {detail}")


def package(endpoint: str, build_template: Path, out: Path) -> Path:
    """`sam package` of the build to the artifacts bucket on moto, as `sam deploy` would upload it."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=ARTIFACTS)
    packaged = out / "packaged.yaml"
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "SAM_CLI_TELEMETRY": "0"}
    with (out / "sam-package.log").open("w") as log:
        _run_package(build_template, packaged, env, log)
    return packaged


def _run_package(build_template: Path, packaged: Path, env: dict[str, str], log: IO[str]) -> None:
    subprocess.run(
        [
            str(ROOT / ".venv/bin/sam"),
            "package",
            "--template-file",
            str(build_template),
            "--s3-bucket",
            ARTIFACTS,
            "--output-template-file",
            str(packaged),
            "--region",
            REGION,
        ],
        check=True,
        env=env,
        stdout=log,
        stderr=log,
    )


def moto_compatible(template: dict[str, Any]) -> dict[str, Any]:
    """moto's CloudFormation has no AWS::Lambda::Alias and no AWS::SES::ConfigurationSet: a Ref to either
    resolves to nothing and fails (or empties) the property that uses it. For moto only, a Ref to a live
    alias becomes the function's ARN and a Ref to the configuration set becomes its name; both are checked
    on the transformed template as SAM made them (check_transformed).

    moto creates nested stacks but cannot read their outputs (a GetAtt of one fails the whole CreateStack):
    for moto only, such a GetAtt becomes a marker that names the output, and check_created reads the value
    from the nested stack moto made.

    moto's Lambda versions have no attributes and no ARN (a GetAtt of one fails the whole CreateStack, a Ref
    puts an object where a string goes): for moto only, a version is the first one a deploy publishes, its
    `Version` "1" and its Ref "<function ARN>:1"; check_transformed checks them as SAM made them."""
    resources = template["Resources"]
    replacements: dict[str, Any] = {}
    nested = {name for name, resource in resources.items() if resource["Type"] == NESTED_STACK}
    versions = {name for name, resource in resources.items() if resource["Type"] == "AWS::Lambda::Version"}
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Alias":
            arn = {"Fn::GetAtt": [resource["Properties"]["FunctionName"]["Ref"], "Arn"]}
            # A conditional function's alias: moto resolves a GetAtt even where its output is switched off.
            condition = resource.get("Condition")
            replacements[name] = {"Fn::If": [condition, arn, ""]} if condition else arn
        elif resource["Type"] == "AWS::SES::ConfigurationSet":
            replacements[name] = resource["Properties"]["Name"]
        elif resource["Type"] == "AWS::Lambda::Version":
            function = resource["Properties"]["FunctionName"]["Ref"]
            replacements[name] = {"Fn::Join": [":", [{"Fn::GetAtt": [function, "Arn"]}, "1"]]}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in replacements:
                return replacements[node["Ref"]]
            if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"] in ([v, "Version"] for v in versions):
                return "1"
            if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][0] in nested:
                logical, attribute = node["Fn::GetAtt"]
                return f"{NESTED_OUTPUT}{logical}.{attribute.removeprefix('Outputs.')}"
            return {k: rewrite(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    rewritten: dict[str, Any] = rewrite(template)
    return rewritten


def create_stack(endpoint: str, template: dict[str, Any]) -> dict[str, Any]:
    """CreateStack (not a change set: moto's change sets lose the Outputs) from a template in S3, read
    through a path-style `localhost` URL, the only form moto's template-URL parser understands."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=ARTIFACTS, Key="transformed.json", Body=json.dumps(template).encode())
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(
        StackName=STACK,
        TemplateURL=f"{endpoint}/{ARTIFACTS}/transformed.json",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + 120
    while True:
        stack: dict[str, Any] = dict(cloudformation.describe_stacks(StackName=STACK)["Stacks"][0])
        if not stack["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.5)


def check_created(stack: dict[str, Any], checks: Checks) -> None:
    """What moto's CloudFormation really created, read back through each service's API."""
    checks.that(
        "stack CREATE_COMPLETE", stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    )
    nested = _nested_stacks(stack["StackName"])
    checks.that(
        "nested observability stack CREATE_COMPLETE",
        nested.get(OBSERVABILITY, {}).get("StackStatus") == "CREATE_COMPLETE",
        {name: s.get("StackStatus") for name, s in nested.items()},
    )
    outputs = _forwarded({o["OutputKey"]: o for o in stack.get("Outputs", [])}, nested, checks)
    checks.that("outputs present", set(outputs) >= OUTPUTS, sorted(OUTPUTS - set(outputs)))
    checks.that("outputs exported", all("ExportName" in o for o in outputs.values()), outputs)

    lam = boto3.client("lambda", region_name=REGION)
    functions = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    for slug, timeout in FUNCTIONS.values():
        name = f"{STACK}-{slug}"
        function = functions.get(name)
        checks.that(f"function {name} exists", function is not None, sorted(functions))
        if function is None:
            continue
        env = function.get("Environment", {}).get("Variables", {})
        checks.that(f"{name} runtime", function["Runtime"] == "python3.13", function["Runtime"])
        checks.that(f"{name} timeout {timeout}", function["Timeout"] == timeout, function["Timeout"])
        checks.that(f"{name} service name", env.get("POWERTOOLS_SERVICE_NAME") == slug, env)
        checks.that(f"{name} has no local endpoint", "AWS_ENDPOINT_URL" not in env, env)
    sender_env = functions.get(f"{STACK}-email-sender", {}).get("Environment", {}).get("Variables", {})
    checks.that(
        "sender sends through the stack's configuration set",
        sender_env.get("SES_CONFIGURATION_SET") == f"{STACK}-email",
        sender_env,
    )
    janitor_env = functions.get(f"{STACK}-eip-janitor", {}).get("Environment", {}).get("Variables", {})
    checks.that("janitor keeps its run ledger", bool(janitor_env.get("RUN_LEDGER_TABLE")), janitor_env)
    layers = lam.list_layers()["Layers"]
    checks.that("shared layer published", [x["LayerName"] for x in layers] != [], layers)

    _check_queues_and_roles(outputs, checks)
    _check_rules_and_operations(outputs, checks)


def _nested_stacks(stack_name: str) -> dict[str, dict[str, Any]]:
    """Logical id -> the described nested stack, for each nested stack moto made for this one."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    return {
        r["LogicalResourceId"]: dict(
            cloudformation.describe_stacks(StackName=r["PhysicalResourceId"])["Stacks"][0]
        )
        for r in resources
        if r.get("ResourceType") == NESTED_STACK
    }


def _forwarded(
    outputs: dict[str, dict[str, Any]], nested: dict[str, dict[str, Any]], checks: Checks
) -> dict[str, dict[str, Any]]:
    """The root's outputs with each marker of a nested stack's output (moto_compatible) replaced by that
    output's value, as CloudFormation would have resolved it."""
    resolved = {}
    for key, output in outputs.items():
        value = output["OutputValue"]
        if isinstance(value, str) and value.startswith(NESTED_OUTPUT):
            logical, name = value.removeprefix(NESTED_OUTPUT).split(".", 1)
            found = {o["OutputKey"]: o["OutputValue"] for o in nested.get(logical, {}).get("Outputs", [])}
            checks.that(f"{key} forwards {logical}'s output {name}", name in found, sorted(found))
            resolved[key] = {**output, "OutputValue": found.get(name, "")}
        else:
            resolved[key] = output
    return resolved


def _check_queues_and_roles(outputs: dict[str, Any], checks: Checks) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = outputs["EmailQueueUrl"]["OutputValue"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
    checks.that(
        "email queue redrives to the DLQ after 5 receives",
        redrive
        == {"deadLetterTargetArn": outputs["EmailDeadLetterQueueArn"]["OutputValue"], "maxReceiveCount": 5},
        redrive,
    )
    checks.that("email queue visibility 180 s", attributes["VisibilityTimeout"] == "180", attributes)
    mappings = lam.list_event_source_mappings(EventSourceArn=outputs["EmailQueueArn"]["OutputValue"])
    [mapping] = mappings["EventSourceMappings"] or [{}]
    checks.that("email queue feeds the sender", "email-sender" in mapping.get("FunctionArn", ""), mapping)
    checks.that("in batches of 10, partial failures reported", mapping.get("BatchSize") == 10, mapping)
    checks.that(
        "at most 2 senders at once", mapping.get("ScalingConfig") == {"MaximumConcurrency": 2}, mapping
    )
    concurrency = lam.get_function_concurrency(FunctionName=f"{STACK}-eip-janitor")
    # A new account cannot spare a reservation; the run ledger's lease keeps runs apart instead.
    checks.that(
        "janitor: no reserved concurrency by default",
        "ReservedConcurrentExecutions" not in concurrency,
        concurrency,
    )
    iam = boto3.client("iam", region_name=REGION)
    roles = {r["RoleName"]: r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(STACK)}
    inline = {name: iam.list_role_policies(RoleName=name)["PolicyNames"] for name in roles}
    # One role per job (the auditor's, the janitor's, the sender's, its pause checker's), the sender's
    # deploy canary and CodeDeploy's: a single-account stack has no hub role.
    expected = {
        "CorsAuditorFunctionRole",
        "EipJanitorFunctionRole",
        "EmailSenderFunctionRole",
        "EmailPauseCheckerFunctionRole",
        "SenderCanaryFunctionRole",
        "SenderDeploymentRole",
    }
    logical = {name.split("-")[2] for name in roles}
    checks.that(
        "one role per job, each with its own inline policy",
        logical == expected and all(inline.values()),
        inline,
    )

    tables = sorted(boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"])
    checks.that(
        "the idempotency table and the action journal exist",
        [name.split("-")[2] for name in tables] == ["ActionJournalTable", "IdempotencyTable"],
        tables,
    )


def _check_rules_and_operations(outputs: dict[str, Any], checks: Checks) -> None:
    events = boto3.client("events", region_name=REGION)
    rules = {
        r["Name"].split("-")[2]: (
            r.get("ScheduleExpression"),
            r["State"],
            events.list_targets_by_rule(Rule=r["Name"]),
        )
        for r in events.list_rules(NamePrefix=STACK)["Rules"]
    }
    states = {name: rule[:2] for name, rule in rules.items()}
    # The sweep's and the CORS-change functions (and their rules) exist only when switched on.
    checks.that(
        "rules: the janitor's, daily, and the email pause checker's, by default",
        states
        == {
            "EipJanitorFunctionDaily": ("rate(1 day)", "ENABLED"),
            "EmailPauseCheckerFunctionCheck": ("rate(5 minutes)", "ENABLED"),
        },
        states,
    )
    targets = {name: [x["Arn"] for x in rule[2]["Targets"]] for name, rule in rules.items()}
    checks.that("each rule invokes its function", all(len(arns) == 1 for arns in targets.values()), targets)

    dashboards = boto3.client("cloudwatch", region_name=REGION).list_dashboards()["DashboardEntries"]
    checks.that("dashboard", [d["DashboardName"] for d in dashboards] == [STACK], dashboards)
    if dashboards:
        body = json.loads(
            boto3.client("cloudwatch", region_name=REGION).get_dashboard(DashboardName=STACK)["DashboardBody"]
        )
        checks.that("dashboard widgets", len(body["widgets"]) == 9, len(body["widgets"]))

    topics = [t["TopicArn"] for t in boto3.client("sns", region_name=REGION).list_topics()["Topics"]]
    checks.that("alarm topic", topics == [outputs["AlarmTopicArn"]["OutputValue"]], topics)

    groups = boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in groups}
    # Named per stack instance, so a re-created stack of the same name does not collide with a retained one.
    recovery = {
        name: days for name, days in retention.items() if name.startswith(f"/aws/lambda/{STACK}-eip-janitor/")
    }
    checks.that("janitor recovery log kept a year", list(recovery.values()) == [365], retention)


def uploaded_template(url: str) -> dict[str, Any]:
    """A nested template as `sam package` uploaded it, read back from the path-style URL it wrote."""
    bucket, key = urlparse(url).path.lstrip("/").split("/", 1)
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    template: dict[str, Any] = yaml_parse(body.decode())
    return template


def check_transformed(deployed: Stack, checks: Checks) -> None:
    """What moto's CloudFormation drops (docs/deploy.md, "Rehearsal"), checked where SAM put it: in the
    transformed template and in the nested stacks it deploys."""
    resources = deployed.template["Resources"]

    def props(logical: str) -> dict[str, Any]:
        value: dict[str, Any] = resources[logical]["Properties"]
        return value

    def of_type(kind: str) -> dict[str, dict[str, Any]]:
        return {n: r for n, r in resources.items() if r["Type"] == kind}

    aliases = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]["Name"]
        for r in of_type("AWS::Lambda::Alias").values()
    }
    functions = of_type("AWS::Lambda::Function")
    checks.that("every function behind the alias live", aliases == dict.fromkeys(functions, "live"), aliases)
    for logical in functions:
        checks.that(
            f"{logical} layer", props(logical).get("Layers") is not None, props(logical).get("Layers")
        )
        checks.that(f"{logical} tracing", props(logical).get("TracingConfig") == {"Mode": "Active"}, "")
    for logical in ("CorsAuditorFunction", "EipJanitorFunction"):
        dead_letter = props(logical).get("DeadLetterConfig")
        checks.that(
            f"{logical} dead-letters to AsyncFailureQueue",
            "AsyncFailureQueue" in str(dead_letter),
            dead_letter,
        )
    invoke_config = props("EipJanitorFunctionEventInvokeConfig")
    checks.that("janitor never retried", invoke_config["MaximumRetryAttempts"] == 0, invoke_config)
    deployment = of_type("AWS::CodeDeploy::DeploymentGroup")
    checks.that("sender canary", "Canary10Percent5Minutes" in str(deployment), deployment)
    rollback = [
        deployed.resolve(alarm["Name"])
        for group in deployment.values()
        for alarm in group["Properties"]["AlarmConfiguration"]["Alarms"]
    ]
    checks.that(
        "canary rolls back on the sender's newest version's alarm",
        rollback == [Attribute(OBSERVABILITY, "EmailSenderCanaryAlarm", "Ref")],
        rollback,
    )
    alias = resources["EmailSenderFunctionAliaslive"]
    version = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    hook = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"].get("BeforeAllowTrafficHook")
    checks.that("the canary is the sender's PreTraffic hook", hook == {"Ref": "SenderCanaryFunction"}, hook)
    canary_env = props("SenderCanaryFunction")["Environment"]["Variables"]
    checks.that(
        "the canary probes the version being deployed",
        canary_env.get("CANARY_SENDER_VERSION") == {"Ref": version},
        canary_env.get("CANARY_SENDER_VERSION"),
    )
    passed = props(OBSERVABILITY)["Parameters"].get("EmailSenderVersion")
    checks.that(
        "the canary alarm watches the version being deployed",
        passed == {"Fn::GetAtt": [version, "Version"]},
        passed,
    )

    bucket = props("UploadsBucket")
    checks.that(
        "uploads notify the auditor's alias",
        "CorsAuditorFunctionAliaslive" in str(bucket.get("NotificationConfiguration")),
        "",
    )
    checks.that("bucket versioned", bucket.get("VersioningConfiguration") == {"Status": "Enabled"}, "")
    checks.that("bucket blocks public access", all(bucket["PublicAccessBlockConfiguration"].values()), "")
    rules = {r["Id"] for r in bucket.get("LifecycleConfiguration", {}).get("Rules", [])}
    checks.that("bucket lifecycle rules", rules == {"ExpireOldVersions", "AbortIncompleteUploads"}, rules)
    for policy, action in (("UploadsBucketPolicy", "s3:*"), ("QueuesPolicy", "sqs:*")):
        deny = props(policy)["PolicyDocument"]["Statement"][0]
        checks.that(f"{policy} denies {action} without TLS", deny["Action"] == action, deny)
    table = props("IdempotencyTable")
    checks.that(
        "table TTL", table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}, ""
    )
    checks.that("table PITR", table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], "")
    for logical in ("IdempotencyTable", "EipJanitorLogGroup"):
        kept = (resources[logical].get("DeletionPolicy"), resources[logical].get("UpdateReplacePolicy"))
        checks.that(f"{logical} retained", kept == ("Retain", "Retain"), kept)
    roles = of_type("AWS::IAM::Role")
    checks.that(
        "no managed policies", not any(r["Properties"].get("ManagedPolicyArns") for r in roles.values()), ""
    )

    configuration_set = props("EmailConfigurationSet")
    checks.that(
        "SES reputation metrics", configuration_set["ReputationOptions"]["ReputationMetricsEnabled"], ""
    )
    events = props("EmailEventsToCloudWatch")["EventDestination"]["MatchingEventTypes"]
    checks.that(
        "SES event destination",
        set(events) == {"bounce", "complaint", "reject", "renderingFailure", "deliveryDelay"},
        events,
    )
    _check_alarms(deployed.children[OBSERVABILITY], checks)


def _check_alarms(observability: Stack, checks: Checks) -> None:
    declared = {
        logical: resource
        for logical, resource in observability.template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    checks.that("alarms", set(declared) == set(ALARMS), sorted(set(declared) ^ set(ALARMS)))
    created = observability.resources("AWS::CloudWatch::Alarm")
    checks.that("alarms created", set(created) == CREATED_ALARMS, sorted(set(created) ^ CREATED_ALARMS))
    for logical, (watched, threshold) in ALARMS.items():
        alarm = declared.get(logical, {}).get("Properties", {})
        got = alarm.get("MetricName") or next(
            (m["Expression"] for m in alarm.get("Metrics", []) if "Expression" in m), None
        )
        checks.that(f"{logical} watches {watched}", got == watched, got)
        checks.that(
            f"{logical} threshold {threshold}", alarm.get("Threshold") == threshold, alarm.get("Threshold")
        )
        checks.that(f"{logical} quiet when idle", alarm.get("TreatMissingData") == "notBreaching", "")
        checks.that(f"{logical} notifies the topic", "AlarmTopic" in str(alarm.get("AlarmActions")), "")
    for logical, alarm in created.items():
        properties = alarm["Properties"]
        dimensions = [
            *properties.get("Dimensions", []),
            *(
                d
                for m in properties.get("Metrics", [])
                for d in m.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
            ),
        ]
        # Each dimension is a fixed value or the name of one of the root stack's resources, never empty.
        watched = [observability.resolve(d["Value"]) for d in dimensions]
        checks.that(
            f"{logical} watches what the root stack names",
            all((isinstance(v, Attribute) and v.path == "") or (isinstance(v, str) and v) for v in watched),
            watched,
        )


def main(endpoint: str, build_template: Path, out: Path) -> int:
    step_started = time.monotonic()

    def step(name: str, action: Callable[[], Any]) -> Any:
        nonlocal step_started
        result = action()
        print(f"  {name}: {time.monotonic() - step_started:.1f}s")
        step_started = time.monotonic()
        return result

    packaged = step("sam package to moto", lambda: package(endpoint, build_template, out))
    template = step("aws-sam-translator transform", lambda: transformed(packaged, PARAMETERS))
    (out / "transformed.json").write_text(json.dumps(template, indent=1))
    stack = step("CloudFormation CreateStack", lambda: create_stack(endpoint, moto_compatible(template)))
    checks = Checks()
    deployed = Stack(template, PARAMETERS, load=uploaded_template)
    step("checks", lambda: (check_created(stack, checks), check_transformed(deployed, checks)))
    for failure in checks.failed:
        print(f"  FAILED {failure}")
    print(f"rehearsal: {len(checks.passed)} checks passed, {len(checks.failed)} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
