"""The email sender's handler under moto: routing, exactly-once, throttling, pauses and templates."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from email_sender import handler
from email_sender.sender import DEADLINE_MARGIN_MS
from groundskeeper.aws_clients import client
from groundskeeper.observability import logger
from tests.conftest import load_event
from tests.integration.email_sender.conftest import SENDER, SenderWorld, welcome

THROTTLED = ("Throttling", "Maximum sending rate exceeded.", 400)


def test_the_issue_batch_sends_one_and_dead_letters_two(world: SenderWorld) -> None:
    valid = world.record(welcome(idempotency_key="welcome-ada"))
    missing = world.record(
        {"template": "example-welcome", "to": ["bob@example.com"], "data": {"name": "Bob"}}
    )
    not_json = world.record("{not json")
    duplicate = world.record(welcome(idempotency_key="welcome-ada"))  # same key, new SQS message

    result = world.invoke(valid, missing, not_json, duplicate)

    assert result == {"batchItemFailures": []}
    [sent] = world.sent()
    assert (sent.subject, sent.source) == ("Welcome to Groundskeeper, Ada!", SENDER)
    assert sent.destinations == {"ToAddresses": ["ada@example.com"]}
    dead = {attrs["source_message_id"]: (body, attrs) for body, attrs in world.dead_letters()}
    assert set(dead) == {missing["messageId"], not_json["messageId"]}
    body, attrs = dead[missing["messageId"]]
    assert body == missing["body"]  # the original body, untouched
    assert attrs["error_code"] == "MissingRenderingAttribute"
    assert "product" in attrs["error_message"]
    body, attrs = dead[not_json["messageId"]]
    assert (body, attrs["error_code"]) == (not_json["body"], "InvalidMessage")


def test_the_sender_renders_every_part_and_escapes_data_only_in_the_html(world: SenderWorld) -> None:
    hostile = '"><img src=x onerror=alert(1)> <script>alert(2)</script>'
    data = {"name": hostile, "product": "Groundskeeper", "support_email": 'help@example.com" onclick="x'}
    world.invoke(world.record(welcome(data=data)))
    [sent] = world.sent()
    assert sent.subject == f"Welcome to Groundskeeper, {hostile}!"  # plain text: no entities
    assert sent.text is not None and f"Hello {hostile}," in sent.text
    assert 'help@example.com" onclick="x' in sent.text
    assert sent.html is not None and "<img" not in sent.html and "<script" not in sent.html
    assert "Hello &quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;" in sent.html
    assert 'href="mailto:help@example.com&quot; onclick&#x3D;&quot;x"' in sent.html


def test_the_sample_event_delivers_the_bundled_template(world: SenderWorld) -> None:
    result = world.invoke(*load_event("sqs-email-request.json")["Records"])
    assert result == {"batchItemFailures": []}
    assert [m.subject for m in world.sent()] == ["Welcome to Groundskeeper, Ada!"]
    assert world.ses.get_template(TemplateName="example-welcome")["Template"]["SubjectPart"]  # published


def test_throttling_is_retried_and_a_retry_delivers_exactly_once(world: SenderWorld) -> None:
    throttle = {"on": True}
    world.fail_ses("SendEmail", lambda params: THROTTLED if throttle["on"] else None)
    first, second = world.record(welcome("a@example.com")), world.record(welcome("b@example.com"))

    result = world.invoke(first, second)
    assert sorted(world.failed_ids(result)) == sorted([first["messageId"], second["messageId"]])
    assert world.sent() == [] and world.dead_letters() == []
    assert world.idempotency_items() == []  # the in-progress records were removed, so a retry may send

    throttle["on"] = False
    assert world.invoke(first, second) == {"batchItemFailures": []}
    assert world.invoke(first, second) == {"batchItemFailures": []}  # SQS redelivers anyway: nothing more
    assert sorted(m.destinations["ToAddresses"][0] for m in world.sent()) == [
        "a@example.com",
        "b@example.com",
    ]


def test_only_the_throttled_record_is_reported(world: SenderWorld) -> None:
    world.fail_ses(
        "SendEmail",
        lambda params: THROTTLED if params["Destination"]["ToAddresses"] == ["b@x.com"] else None,
    )
    records = [world.record(welcome(to)) for to in ("a@x.com", "b@x.com", "c@x.com")]
    result = world.invoke(*records)
    assert world.failed_ids(result) == [records[1]["messageId"]]
    assert len(world.sent()) == 2


@pytest.mark.parametrize(
    "failure",
    [("ServiceUnavailable", "later", 503), ("InternalFailure", "oops", 500), ("SomethingNew", "x", 502)],
)
def test_server_errors_are_retried(world: SenderWorld, failure: tuple[str, str, int]) -> None:
    world.fail_ses("SendEmail", lambda params: failure)
    record = world.record(welcome())
    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]
    assert world.dead_letters() == []


def test_a_connect_timeout_is_retried(world: SenderWorld) -> None:
    # Nothing reached SES: the in-progress record is deleted and SQS retries. (A read timeout, after the
    # request went out, is SendOutcomeUnknown: tests/integration/email_sender/test_send_faults.py.)
    from botocore.exceptions import ConnectTimeoutError

    def time_out(**_: Any) -> None:
        raise ConnectTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")

    world.send_ses.meta.events.register("before-call.ses.SendEmail", time_out)
    record = world.record(welcome())
    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]
    assert world.idempotency_items() == []


@pytest.mark.parametrize("code", ["AccountSendingPausedException", "ConfigurationSetSendingPausedException"])
def test_sending_paused_stops_the_batch(
    world: SenderWorld, code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # One record at a time, so the counts below are exact; test_concurrency covers SEND_CONCURRENCY > 1.
    world.configure(send_concurrency=1)
    world.fail_ses("SendEmail", lambda params: (code, "Sending paused for this account.", 400))
    records = [world.record(welcome(f"user{i}@example.com")) for i in range(4)]

    capsys.readouterr()
    result = world.invoke(*records)

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [blob["SendingPaused"] for blob in emf if "SendingPaused" in blob] == [[1.0]]

    assert world.failed_ids(result) == [r["messageId"] for r in records]
    assert world.calls["ses.SendEmail"] == 1  # no further SES calls once paused
    assert world.calls["ses.GetTemplate"] == 1
    assert world.calls["dynamodb.PutItem"] == 1  # the later records were not even deduplicated
    assert world.sent() == [] and world.dead_letters() == [] and world.idempotency_items() == []


class StopRecorder:
    """Stands in for the sender's QueueConsumer: what it was asked to stop."""

    def __init__(self) -> None:
        self.stopped: list[tuple[str, str, str]] = []

    def stop(self, queue_arn: str, function_name: str, reason: str) -> str | None:
        self.stopped.append((queue_arn, function_name, reason))
        return None


def test_a_paused_batch_stops_the_mapping_of_its_queue_for_this_function(
    world: SenderWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.fail_ses("SendEmail", lambda params: ("AccountSendingPausedException", "paused", 400))
    consumer = StopRecorder()
    monkeypatch.setattr(handler.SENDER, "consumer", consumer)
    record = world.record(welcome())
    # A record that names no queue (never from the event source): an empty ARN, whose mapping is not found.
    nameless = {k: v for k, v in world.record(welcome("bob@example.com")).items() if k != "eventSourceARN"}

    world.invoke(record)
    world.invoke(nameless)
    world.invoke()  # an empty batch has no queue to stop

    function = world.lambda_context.function_name
    assert consumer.stopped == [
        (record["eventSourceARN"], function, "AccountSendingPausedException"),
        ("", function, "AccountSendingPausedException"),
    ]


@pytest.mark.parametrize(
    ("failure", "expected_code"),
    [
        (("MessageRejected", "Email address is not verified.", 400), "MessageRejected"),
        (("Throttling", "Daily message quota exceeded.", 400), "DailyQuotaExceeded"),
        (("MailFromDomainNotVerifiedException", "m", 400), "MailFromDomainNotVerifiedException"),
        (("ConfigurationSetDoesNotExist", "m", 400), "ConfigurationSetDoesNotExist"),
    ],
)
def test_permanent_ses_errors_go_to_the_dlq(
    world: SenderWorld, failure: tuple[str, str, int], expected_code: str
) -> None:
    world.fail_ses("SendEmail", lambda params: failure)
    record = world.record(welcome(idempotency_key="k"))
    assert world.invoke(record) == {"batchItemFailures": []}
    [(body, attrs)] = world.dead_letters()
    assert (body, attrs["error_code"], attrs["error_message"]) == (record["body"], expected_code, failure[1])
    # Not remembered as done: once fixed, a redrive of the same message sends it.
    assert world.idempotency_items() == []


def test_a_redriven_dead_letter_is_sent_once_fixed(world: SenderWorld) -> None:
    reject = {"on": True}
    world.fail_ses("SendEmail", lambda p: ("MessageRejected", "x", 400) if reject["on"] else None)
    record = world.record(welcome(idempotency_key="k"))
    world.invoke(record)
    [(body, _)] = world.dead_letters()
    reject["on"] = False
    assert world.invoke(world.record(body)) == {"batchItemFailures": []}
    assert len(world.sent()) == 1


def test_an_allowed_but_unverified_from_is_rejected_by_ses_into_the_dlq(world: SenderWorld) -> None:
    world.configure(allowed_senders=("stranger@example.com",))
    record = world.record(welcome(**{"from": "stranger@example.com"}))
    assert world.invoke(record) == {"batchItemFailures": []}
    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "MessageRejected"  # moto's answer for an unverified Source


def test_unknown_template_is_published_from_the_bundle_or_dead_lettered(world: SenderWorld) -> None:
    unknown = world.record({"template": "no-such-template", "to": ["a@example.com"], "data": {}})
    bundled = world.record(welcome())
    assert world.invoke(unknown, bundled) == {"batchItemFailures": []}
    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "TemplateDoesNotExist"
    assert [m.subject for m in world.sent()] == ["Welcome to Groundskeeper, Ada!"]


def test_a_template_deleted_after_caching_still_renders_from_the_cache(world: SenderWorld) -> None:
    world.invoke(world.record(welcome("a@example.com")))
    world.ses.delete_template(TemplateName="example-welcome")
    assert world.invoke(world.record(welcome("b@example.com"))) == {"batchItemFailures": []}
    assert len(world.sent()) == 2
    assert world.calls["ses.CreateTemplate"] == 1  # the next fetch, after the cache's TTL, republishes


def test_application_template_with_unsupported_syntax_is_refused(world: SenderWorld) -> None:
    world.ses.create_template(
        Template={"TemplateName": "app", "SubjectPart": "Hi", "TextPart": "{{uppercase user.name}}"}
    )
    record = world.record({"template": "app", "to": ["a@example.com"], "data": {"user": {"name": "x"}}})
    world.invoke(record)
    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "InvalidTemplate"
    assert world.sent() == []


def test_a_helper_that_does_not_exist_fails_only_the_sends_that_reach_it(world: SenderWorld) -> None:
    world.ses.create_template(
        Template={
            "TemplateName": "app",
            "SubjectPart": "Hi",
            "TextPart": "{{#if vip}}{{uppercase name}}{{/if}}ok",
        }
    )
    plain = world.record({"template": "app", "to": ["a@example.com"], "data": {"vip": False, "name": "x"}})
    vip = world.record({"template": "app", "to": ["b@example.com"], "data": {"vip": True, "name": "x"}})
    assert world.invoke(plain, vip) == {"batchItemFailures": []}
    assert [m.text for m in world.sent()] == ["ok"]
    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "InvalidTemplate" and "uppercase" in attrs["error_message"]


def test_dotted_and_conditional_variables_in_application_templates(world: SenderWorld) -> None:
    world.ses.create_template(
        Template={
            "TemplateName": "order",
            "SubjectPart": "Order {{order.id}}",
            "TextPart": "{{#if note}}{{note}}{{/if}}{{#each items}}{{sku}}{{/each}}",
        }
    )
    ok = world.record(
        {"template": "order", "to": ["a@example.com"], "data": {"order": {"id": 7}, "items": []}}
    )
    lacks = world.record({"template": "order", "to": ["a@example.com"], "data": {"order": {}, "items": []}})
    assert world.invoke(ok, lacks) == {"batchItemFailures": []}
    assert len(world.sent()) == 1
    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "MissingRenderingAttribute" and "order.id" in attrs["error_message"]


GRANT_TEXT = (
    "{{#if approved}}Approved on {{approval.date}}{{else}}Pending{{/if}}\n"
    "{{#each reviewers}}- {{name}}\n{{/each}}"
)


@pytest.mark.parametrize(
    ("data", "missing"),
    [
        ({"approved": True, "approval": {}, "reviewers": []}, "approval.date"),  # in the branch taken
        ({"approved": False, "reviewers": [{"name": "a"}, {}]}, "name"),  # in an #each item
    ],
)
def test_a_variable_missing_where_the_render_reaches_is_refused(
    world: SenderWorld, data: dict[str, Any], missing: str
) -> None:
    world.ses.create_template(
        Template={"TemplateName": "grant", "SubjectPart": "Grant", "TextPart": GRANT_TEXT}
    )
    world.invoke(world.record({"template": "grant", "to": ["a@example.com"], "data": data}))
    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "MissingRenderingAttribute" and missing in attrs["error_message"]
    assert world.sent() == []


def test_valid_handlebars_that_ses_renders_is_sent(world: SenderWorld) -> None:
    html = (
        '{{#*inline "full"}}{{first}}{{#if last}} {{last}}{{/if}}{{/inline}}'
        "<p>{{> full}}</p>{{#with team}}<p>{{name}}</p>{{/with}}<p>{{lookup roles role}}</p>"
        "<p>{{list.[0]}}</p>{{#if a}}A{{else if b}}B{{else}}C{{/if}}<p>\\{{literal}}</p>"
    )
    world.ses.create_template(
        Template={"TemplateName": "rich", "SubjectPart": "Hi {{first}}", "HtmlPart": html}
    )
    data = {
        "first": "Ada", "team": {"name": "Core"}, "roles": {"x": "admin"}, "role": "x", "list": ["one"],
        "a": False, "b": True,
    }  # fmt: skip
    assert world.invoke(world.record({"template": "rich", "to": ["a@example.com"], "data": data})) == {
        "batchItemFailures": []
    }
    [sent] = world.sent()
    assert sent.html == "<p>Ada</p><p>Core</p><p>admin</p><p>one</p>B<p>{{literal}}</p>"
    assert sent.text is None  # the template has no text part, so neither has the email


def test_a_hostile_cors_origin_is_text_in_the_html_and_verbatim_in_the_text(world: SenderWorld) -> None:
    origin = '"><img src=x onerror=alert(document.domain)><script>alert(1)</script>'
    data = {
        "bucket": "open-bucket", "severity": "HIGH", "status": "non_compliant", "finding_count": "1",
        "findings_summary": f"HIGH rule 0: origin {origin} is allowed", "remediated": "false",
        "audited_at": "2026-11-28T10:00:00Z",
    }  # fmt: skip
    world.invoke(world.record({"template": "cors-finding", "to": ["ops@example.com"], "data": data}))
    [sent] = world.sent()
    assert sent.html is not None and sent.text is not None
    assert "<img" not in sent.html and "<script" not in sent.html and origin not in sent.html
    assert "&quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert(document.domain)&gt;" in sent.html
    assert origin in sent.text


def test_an_idempotency_key_reused_for_different_content_is_dead_lettered(world: SenderWorld) -> None:
    first = world.record(welcome(idempotency_key="k"))
    other = world.record({**welcome(idempotency_key="k"), "data": {"name": "Eve", "product": "P"}})
    assert world.invoke(first, other) == {"batchItemFailures": []}
    assert len(world.sent()) == 1
    [(body, attrs)] = world.dead_letters()
    assert (body, attrs["error_code"]) == (other["body"], "IdempotencyKeyReused")


def test_a_redelivered_message_without_key_is_deduplicated_by_message_id(world: SenderWorld) -> None:
    record = world.record(welcome())
    world.invoke(record)
    world.invoke(record)
    world.invoke(world.record(welcome()))  # same body, new message id, no key: a new email
    assert len(world.sent()) == 2


def test_if_the_dlq_send_fails_the_record_is_retried(world: SenderWorld) -> None:
    def refuse(**_: Any) -> None:
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    client("sqs").meta.events.register("before-call.sqs.SendMessage", refuse)
    record = world.record("{not json")
    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]
    client("sqs").meta.events.unregister("before-call.sqs.SendMessage", refuse)
    assert world.invoke(record) == {"batchItemFailures": []}
    assert len(world.dead_letters()) == 1


def test_templates_are_fetched_once_per_ttl(world: SenderWorld) -> None:
    world.invoke(*[world.record(welcome(f"u{i}@example.com")) for i in range(5)])
    world.invoke(world.record(welcome("late@example.com")))
    assert world.calls["ses.GetTemplate"] == 1
    assert world.calls["ses.SendEmail"] == 6


def test_one_log_line_per_message_without_content_and_emf_metrics(
    world: SenderWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.fail_ses(
        "SendEmail",
        lambda params: THROTTLED if params["Destination"]["ToAddresses"] == ["t@x.com"] else None,
    )
    records = [
        world.record(welcome("ada@example.com", idempotency_key="k")),
        world.record(welcome("ada@example.com", idempotency_key="k")),
        world.record("{bad"),
        world.record(welcome("t@x.com")),
    ]
    # Powertools' Logger keeps the stream it started with; point it at a buffer for this test.
    log = io.StringIO()
    previous = logger.registered_handler.setStream(log)  # type: ignore[attr-defined]
    try:
        capsys.readouterr()
        world.invoke(*records)
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    handled = [line for line in lines if line.get("message") == "email request handled"]
    outcomes = {line["message_id"]: line["outcome"] for line in handled}
    assert outcomes == {
        records[0]["messageId"]: "sent",
        records[1]["messageId"]: "duplicate",
        records[2]["messageId"]: "dead_lettered",
        records[3]["messageId"]: "retry",
    }
    assert len(handled) == 4
    codes = {line["message_id"]: line.get("error_code") for line in handled}
    assert codes == {
        records[0]["messageId"]: None,
        records[1]["messageId"]: None,
        records[2]["messageId"]: "InvalidMessage",
        records[3]["messageId"]: "Throttling",
    }
    assert "ada@example.com" not in log.getvalue() and "Groundskeeper" not in log.getvalue()

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    totals: dict[str, float] = {}
    for blob in emf:
        for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[metric["Name"]]
            totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                sum(value) if isinstance(value, list) else value
            )
    assert totals["EmailsSent"] == 1 and totals["DuplicatesSkipped"] == 1 and totals["EmailsRetried"] == 1
    by_code = [blob for blob in emf if "error_code" in blob]
    assert [(b["error_code"], b["EmailsDeadLettered"]) for b in by_code] == [("InvalidMessage", [1.0])]
    assert by_code[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["error_code", "service"]]


def test_records_are_not_started_near_the_deadline(world: SenderWorld) -> None:
    world.lambda_context.remaining_ms = 4_000
    record = world.record(welcome())
    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]
    assert world.calls == {}  # not even the idempotency table
    world.lambda_context.remaining_ms = 30_000
    assert world.invoke(record) == {"batchItemFailures": []}
    assert len(world.sent()) == 1


def test_a_record_with_exactly_the_deadline_margin_left_is_started(world: SenderWorld) -> None:
    world.lambda_context.remaining_ms = DEADLINE_MARGIN_MS - 1
    record = world.record(welcome())
    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]
    assert world.calls == {}
    world.lambda_context.remaining_ms = DEADLINE_MARGIN_MS
    assert world.invoke(record) == {"batchItemFailures": []}
    assert len(world.sent()) == 1


def test_each_version_counts_the_records_it_failed(
    world: SenderWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """The canary's rollback alarm watches the new version alone: its failed records (retried or
    dead-lettered) are counted under a `version` dimension, from the context's function version."""
    world.fail_ses(
        "SendEmail",
        lambda params: THROTTLED if params["Destination"]["ToAddresses"] == ["t@x.com"] else None,
    )
    world.lambda_context.function_version = "7"
    capsys.readouterr()
    world.invoke(world.record(welcome()), world.record("{bad"), world.record(welcome("t@x.com")))
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    per_version = [blob for blob in emf if "version" in blob]
    assert [(b["version"], b["RecordsFailed"]) for b in per_version] == [("7", [2.0])]
    assert per_version[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["version", "service"]]

    world.lambda_context.function_version = "8"
    world.invoke(world.record(welcome("bob@example.com")))
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [(b["version"], b["RecordsFailed"]) for b in emf if "version" in b] == [("8", [0.0])]
