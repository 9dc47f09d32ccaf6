"""The template sync command (ensure, list, get, delete) and the runtime's publish-if-missing."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from email_sender import template_sync
from email_sender.template_store import Template, TemplateStore, bundled_template_names, publish_template
from groundskeeper.aws_clients import client
from groundskeeper.errors import PermanentError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = template_sync.main(list(argv), ses=client("ses"))
    out = capsys.readouterr().out
    return code, json.loads(out) if out else None


def test_ensure_creates_then_updates_every_bundled_template(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    names = bundled_template_names()
    assert run(capsys, "ensure") == (0, dict.fromkeys(names, "created"))
    assert run(capsys, "ensure") == (0, dict.fromkeys(names, "updated"))
    assert run(capsys, "ensure", "cors-finding") == (0, {"cors-finding": "updated"})
    assert sorted(run(capsys, "list")[1]) == names

    code, template = run(capsys, "get", "eip-janitor-report")
    assert code == 0 and "{{released_count}}" in template["SubjectPart"] and "<table" in template["HtmlPart"]

    assert run(capsys, "delete", "example-welcome") == (0, {"example-welcome": "deleted"})
    assert "example-welcome" not in run(capsys, "list")[1]


def test_ensure_of_an_unknown_name_fails_cleanly(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert template_sync.main(["ensure", "nope"], ses=client("ses")) == 1
    assert "no bundled template named nope" in capsys.readouterr().err


def test_get_and_delete_need_a_name() -> None:
    with pytest.raises(SystemExit):
        template_sync.main(["get"], ses=boto3.client("ses", region_name="us-east-1"))


def test_list_follows_pagination() -> None:
    # moto returns one page; a Stubber shows the paginator is used (NextToken followed).
    ses = boto3.client("ses", region_name="us-east-1")
    with Stubber(ses) as stub:
        stub.add_response("list_templates", {"TemplatesMetadata": [{"Name": "a"}], "NextToken": "t"}, {})
        stub.add_response("list_templates", {"TemplatesMetadata": [{"Name": "b"}]}, {"NextToken": "t"})
        assert template_sync.list_names(ses) == ["a", "b"]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<p>{{{summary}}}</p>", "unescaped"),
        ("<p>{{& summary}}</p>", "unescaped"),
        ("<p>{{#lookup . 'summary'}}{{/lookup}}</p>", "unescaped"),
        ("{{#if a}}", "expected"),
        ("{{#if a}}{{uppercase summary}}{{/if}}", "no helper 'uppercase'"),
    ],
)
def test_a_template_with_raw_data_in_its_html_or_bad_syntax_is_never_published(
    aws: None, html: str, reason: str
) -> None:
    broken = Template(name="broken", subject="Hi", text="t", html=html)
    with pytest.raises(PermanentError) as caught:
        publish_template(client("ses"), broken, update_existing=True)
    assert caught.value.code == "InvalidTemplate" and reason in caught.value.message
    assert client("ses").list_templates()["TemplatesMetadata"] == []


def test_the_store_publishes_a_missing_bundled_template_and_caches_with_a_ttl(aws: None) -> None:
    now = [1000.0]
    store = TemplateStore(ttl_seconds=60, clock=lambda: now[0])
    calls: list[str] = []
    ses = client("ses")
    ses.meta.events.register("before-parameter-build.ses", lambda event_name, **_: calls.append(event_name))

    checked = store.get(ses, "cors-finding")
    assert checked.syntax_error is None and len(checked.parts) == 3
    assert calls == ["before-parameter-build.ses.GetTemplate", "before-parameter-build.ses.CreateTemplate"]
    store.get(ses, "cors-finding")
    now[0] += 59
    store.get(ses, "cors-finding")
    assert len(calls) == 2  # still cached
    now[0] += 2
    store.get(ses, "cors-finding")
    assert calls[-1] == "before-parameter-build.ses.GetTemplate"  # expired: fetched again, now it exists
    assert len(calls) == 3


def test_a_concurrent_publish_is_not_an_error(aws: None) -> None:
    bundled = TemplateStore(0)
    ses = client("ses")
    ses.create_template(
        Template={"TemplateName": "cors-finding", "SubjectPart": "x {{bucket}}", "TextPart": "t"}
    )
    # SES answers TemplateDoesNotExist first (another sender publishes meanwhile), then AlreadyExists.
    with Stubber(ses) as stub:
        stub.add_client_error("get_template", "TemplateDoesNotExist", http_status_code=400)
        stub.add_client_error("create_template", "AlreadyExists", http_status_code=400)
        assert bundled.get(ses, "cors-finding").template.name == "cors-finding"
