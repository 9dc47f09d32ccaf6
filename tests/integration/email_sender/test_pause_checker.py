"""The pause checker, and the sender's stop of the email queue's mapping, on SES's and Lambda's answers as
real AWS gives them.

moto's DescribeConfigurationSet leaves out ReputationOptions, so a paused configuration set looks like one
that may send; moto has no GetAccountSendingEnabled at all; moto's event source mapping goes from Enabled
to Disabled at once, where Lambda passes through Disabling (and Enabling back); and moto names a mapping
made on an alias by the alias's version, where Lambda names the alias. The answers are reshaped by
`after-call` hooks (tests/integration/real_shapes.py)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from email_sender.pause_checker import ACCOUNT_PAUSED, CONFIGURATION_SET_PAUSED, check_pause
from email_sender.queue_consumer import QueueConsumer
from groundskeeper.aws_clients import client
from tests.integration.real_shapes import requests, reshape

CONFIGURATION_SET = "gk-email"
SENDER = "gk-email-sender"


def sending_enabled(ses: Any, *, enabled: bool = True) -> None:
    """GetAccountSendingEnabled, which moto lacks, as SES answers it."""

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://email.us-east-1.amazonaws.com/", 200, {}, None), {
            "Enabled": enabled,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    ses.meta.events.register("before-call.ses.GetAccountSendingEnabled", hook)


def reputation(ses: Any, *, sending: bool) -> dict[str, bool]:
    """DescribeConfigurationSet with the ReputationOptions SES returns when asked for `reputationOptions`;
    the returned switch's "sending" changes what the next answers say."""
    switch = {"sending": sending}

    def add(parsed: dict[str, Any]) -> None:
        parsed["ReputationOptions"] = {
            "SendingEnabled": switch["sending"],
            "ReputationMetricsEnabled": True,
            "LastFreshStart": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        }

    reshape(ses, "DescribeConfigurationSet", add)
    return switch


@pytest.fixture
def mapping(aws: None) -> str:
    """The email queue's event source mapping, to a function that is never run."""
    role = client("iam").create_role(RoleName="sender", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")
    client("lambda").create_function(
        FunctionName=SENDER,
        Runtime="python3.13",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )
    queue_url = client("sqs").create_queue(QueueName="email-queue")["QueueUrl"]
    queue_arn = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    client("ses").create_configuration_set(ConfigurationSet={"Name": CONFIGURATION_SET})
    return str(
        client("lambda").create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=SENDER)["UUID"]
    )


def email_queue_arn() -> str:
    queue_url = client("sqs").get_queue_url(QueueName="email-queue")["QueueUrl"]
    attributes = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def state(mapping: str) -> str:
    return str(client("lambda").get_event_source_mapping(UUID=mapping)["State"])


def test_a_paused_configuration_set_stops_the_queue_and_its_return_resumes_it(mapping: str) -> None:
    ses = client("ses")
    sending_enabled(ses)
    switch = reputation(ses, sending=False)

    stopped = check_pause(ses, client("lambda"), mapping, CONFIGURATION_SET)

    assert (stopped.paused_by, stopped.mapping_state, stopped.action) == (
        CONFIGURATION_SET_PAUSED,
        "Enabled",
        "stopped",
    )
    assert state(mapping) == "Disabled"

    switch["sending"] = True
    resumed = check_pause(ses, client("lambda"), mapping, CONFIGURATION_SET)

    assert (resumed.paused_by, resumed.mapping_state, resumed.action) == (None, "Disabled", "resumed")
    assert state(mapping) == "Enabled"


def test_a_configuration_set_that_may_send_leaves_the_queue_running(mapping: str) -> None:
    ses = client("ses")
    sending_enabled(ses)
    reputation(ses, sending=True)
    asked = requests(ses, "DescribeConfigurationSet")

    found = check_pause(ses, client("lambda"), mapping, CONFIGURATION_SET)

    assert (found.paused_by, found.action) == (None, "none")
    assert asked == [
        {"ConfigurationSetName": CONFIGURATION_SET, "ConfigurationSetAttributeNames": ["reputationOptions"]}
    ]
    assert state(mapping) == "Enabled"


@pytest.mark.parametrize(
    ("account_enabled", "between", "expected_paused_by"),
    [(False, "Disabling", ACCOUNT_PAUSED), (True, "Enabling", None), (False, "Updating", ACCOUNT_PAUSED)],
)
def test_a_mapping_between_two_states_is_left_to_settle(
    mapping: str, account_enabled: bool, between: str, expected_paused_by: str | None
) -> None:
    """Lambda answers Disabling after a stop and Enabling after a start, for a while: another update then
    would only fight the one under way."""
    ses, lambda_client = client("ses"), client("lambda")
    sending_enabled(ses, enabled=account_enabled)
    reputation(ses, sending=True)
    reshape(lambda_client, "GetEventSourceMapping", lambda parsed: parsed.update(State=between))
    updates = requests(lambda_client, "UpdateEventSourceMapping")

    found = check_pause(ses, lambda_client, mapping, CONFIGURATION_SET)

    assert (found.paused_by, found.mapping_state, found.action) == (expected_paused_by, between, "none")
    assert updates == []


def test_the_sender_stops_the_mapping_lambda_names_by_the_alias_live(mapping: str) -> None:
    """The template maps the queue to the sender's alias `live`: Lambda's FunctionArn is
    `...:function:gk-email-sender:live`, the function's name is what the sender knows."""
    lambda_client = client("lambda")

    def on_the_alias(parsed: dict[str, Any]) -> None:
        for found in parsed["EventSourceMappings"]:
            found["FunctionArn"] = f"arn:aws:lambda:us-east-1:123456789012:function:{SENDER}:live"

    reshape(lambda_client, "ListEventSourceMappings", on_the_alias)

    stopped = QueueConsumer(lambda_client).stop(email_queue_arn(), SENDER, ACCOUNT_PAUSED)

    assert stopped == mapping
    assert state(mapping) == "Disabled"
