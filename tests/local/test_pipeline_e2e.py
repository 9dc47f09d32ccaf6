"""The whole pipeline through SAM on a moto server: findings become emails, exactly once, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts.pipeline.flow import FlowResult, run_flow
from scripts.pipeline.world import DNS_RECORD
from tests.local.conftest import LOCAL_LOOP, MotoServer

UPLOADS_TO_BAD_BUCKET = 100

pytestmark = LOCAL_LOOP


@pytest.fixture(scope="module")
def flow(sam_built: None, moto_process: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> FlowResult:
    out_dir = tmp_path_factory.mktemp("e2e")
    return run_flow(moto_process, uploads_to_bad=UPLOADS_TO_BAD_BUCKET, out_dir=out_dir)


def sent_for(flow: FlowResult, template: str) -> list[Any]:
    return [mail for mail in flow.delivered if mail.template == template]


def test_every_bucket_gets_its_verdict(flow: FlowResult) -> None:
    world = flow.world
    assert flow.uploads[world.bad_bucket] == UPLOADS_TO_BAD_BUCKET
    verdicts = {entry["bucket"]: entry["status"] for entry in flow.audited}
    assert verdicts == {
        world.good_bucket: "compliant",
        world.bad_bucket: "non_compliant",
        world.plain_bucket: "no_cors",
        world.hostile_bucket: "non_compliant",
    }


def test_one_cors_finding_email_for_the_bad_bucket_despite_every_upload(flow: FlowResult) -> None:
    findings = [mail for mail in sent_for(flow, "cors-finding") if flow.world.bad_bucket in mail.subject]
    assert len(findings) == 1
    assert flow.world.bad_bucket in findings[0].subject
    assert "HIGH" in findings[0].subject
    assert findings[0].to == ["owners@example.com"]
    assert flow.world.bad_bucket in Path(findings[0].html_path).read_text()


def test_a_hostile_origin_is_shown_as_text_in_its_email(flow: FlowResult) -> None:
    (mail,) = [mail for mail in sent_for(flow, "cors-finding") if flow.world.hostile_bucket in mail.subject]
    html = Path(mail.html_path).read_text()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The text part is plain text: the origin reads exactly as written, with no entity in sight.
    text = Path(mail.text_path).read_text()
    assert "<script>alert(1)</script>" in text
    assert "&lt;" not in text and "&amp;" not in text


def janitor_mail(flow: FlowResult, *, dry_run: bool) -> Any:
    (mail,) = [m for m in sent_for(flow, "eip-janitor-report") if ("dry run: true" in m.subject) is dry_run]
    return mail


def test_one_janitor_report_for_the_dry_run_and_one_for_the_real_run(flow: FlowResult) -> None:
    reports = sent_for(flow, "eip-janitor-report")
    assert len(reports) == 2
    assert all("Elastic IP" in mail.subject for mail in reports)
    assert janitor_mail(flow, dry_run=True) is not janitor_mail(flow, dry_run=False)


def test_the_dry_run_lists_each_idle_address_with_its_release_date(flow: FlowResult) -> None:
    preview = flow.janitor_dry_run
    assert preview["dry_run"] is True and preview["released_count"] == 0
    idle = {e["allocation_id"]: e for region in preview["regions"].values() for e in region["idle_addresses"]}
    # Every address the real run then released or marked was idle in the preview.
    assert flow.world.expected("released") | flow.world.expected("marked") <= set(idle)
    would = {a for region in preview["regions"].values() for a in region["would_release"]}
    assert would == flow.world.expected("released")
    text = Path(janitor_mail(flow, dry_run=True).text_path).read_text()
    assert all(f"({a}, " in text and idle[a]["release_after"] in text for a in idle)
    assert "This was a dry run" in text


def test_the_janitor_report_email_names_the_record_that_held_an_address_back(flow: FlowResult) -> None:
    html = Path(janitor_mail(flow, dry_run=False).html_path).read_text()
    assert "Held back by DNS" in html
    assert f"{flow.world.dns_named_ip} (" in html and f"{DNS_RECORD}. A in zone" in html


def test_the_janitor_released_exactly_the_expected_addresses(flow: FlowResult) -> None:
    report = flow.janitor_report
    assert report["dry_run"] is False
    released = {alloc for region in report["regions"].values() for alloc in region["released"]}
    assert released == flow.world.expected("released")
    assert report["released_count"] == len(released)
    marked = {alloc for region in report["regions"].values() for alloc in region["marked"]}
    assert marked == flow.world.expected("marked")
    unmarked = {alloc for region in report["regions"].values() for alloc in region["unmarked"]}
    assert unmarked == flow.world.expected("unmarked")
    # Due, but a Route 53 record still names it: kept, so the name cannot be taken over.
    held = {h["allocation_id"]: h for region in report["regions"].values() for h in region["dns_protected"]}
    assert set(held) == flow.world.expected("dns_protected")
    assert [r["name"] for h in held.values() for r in h["records"]] == [f"{DNS_RECORD}."]
    assert report["dns_guard"]["status"] == "ok"
    # What moto still holds agrees with the report: released addresses are gone, the rest remain.
    assert set(flow.address_states) == set(flow.world.addresses) - released


def test_nothing_was_dead_lettered(flow: FlowResult) -> None:
    assert flow.dead_letters == [], json.dumps(flow.dead_letters, indent=2, default=str)


def test_only_the_expected_emails_went_out(flow: FlowResult) -> None:
    assert sorted(mail.template for mail in flow.delivered) == [
        "cors-finding",
        "cors-finding",
        "eip-janitor-report",
        "eip-janitor-report",
        "org-sweep-report",
        "org-sweep-report",
    ]


def test_the_cross_account_sweep_reports_the_member_account(flow: FlowResult) -> None:
    world = flow.world
    parts = {run["job"]: run["parts"] for run in flow.org_runs}
    assert [p["account_id"] for p in parts["eip-janitor"]] == [world.member_account]
    assert [p["account_id"] for p in parts["cors-sweep"]] == [world.member_account]
    janitor, auditor = parts["eip-janitor"][0], parts["cors-sweep"][0]
    assert (janitor["status"], janitor["detail"]["dry_run"], janitor["detail"]["would_release_count"]) == (
        "ok",
        True,
        1,
    )
    assert [e["bucket"] for e in auditor["detail"]["audited"] if e["status"] == "non_compliant"] == [
        world.member_bucket
    ]
    emails = sent_for(flow, "org-sweep-report")
    assert {mail.to[0] for mail in emails} == {"owners@example.com"}
    texts = [Path(mail.text_path).read_text() for mail in emails]
    assert all(f"{world.member_account}: " in text for text in texts)
    assert any("would release 1" in text for text in texts)
    assert any(world.member_bucket in text for text in texts)
    # A dry run: the member's address is reported, not released; the hub's own janitor never saw it.
    assert janitor["detail"]["released_count"] == 0
    assert world.member_address not in json.dumps(flow.janitor_report)
