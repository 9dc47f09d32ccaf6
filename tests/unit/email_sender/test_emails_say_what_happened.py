"""The bundled emails, rendered from what their producers send: each sentence true of the run it reports."""

from __future__ import annotations

from typing import Any

import pytest

from cors_auditor.notification import email_data as cors_email_data
from eip_janitor.report import RegionReport, RunOutcome
from eip_janitor.report import email_data as janitor_email_data
from email_sender.template_store import RenderedEmail, check_template, load_bundled_template
from groundskeeper_org.runs import email_data as org_email_data
from groundskeeper_org.runs import error_part, ok_part


def render(name: str, data: Any) -> RenderedEmail:
    template = load_bundled_template(name)
    assert template is not None
    return check_template(template).render(dict(data))


def _words(email: RenderedEmail) -> str:
    return " ".join(f"{email.subject}\n{email.text}".split())


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_janitor_email_says_what_this_run_changed(dry_run: bool) -> None:
    region = RegionReport(would_release=["eipalloc-1"]) if dry_run else RegionReport(released=["a", "b"])
    email = render(
        "eip-janitor-report", janitor_email_data(RunOutcome(dry_run, "run-1", {"us-east-1": region}))
    )

    words = _words(email)
    said_nothing_changed = "nothing was changed" in words
    assert said_nothing_changed == dry_run, words
    assert ("Dry run: true" in words) == dry_run


def test_the_janitor_email_says_what_its_run_id_is() -> None:
    email = render("eip-janitor-report", janitor_email_data(RunOutcome(False, "7bf73129", {})))

    assert "run 7bf73129 (the id of the schedule event, or of the invoke, that started it)" in _words(email)


def _parts(accounts: int, findings_each: int, failed: int) -> list[Any]:
    ok = [ok_part(f"{n:012d}", None, "fine", findings_each, {}) for n in range(accounts - failed)]
    return ok + [error_part(f"{n + 900:012d}", None, "AccessDenied", "no role") for n in range(failed)]


@pytest.mark.parametrize(
    ("accounts", "findings_each", "failed", "subject"),
    [
        (1, 1, 0, "[Groundskeeper] eip-janitor across 1 account: 1 finding, all swept"),
        (1, 0, 0, "[Groundskeeper] eip-janitor across 1 account: 0 findings, all swept"),
        (3, 2, 1, "[Groundskeeper] eip-janitor across 3 accounts: 5 findings, 1 account not swept"),
        (4, 0, 2, "[Groundskeeper] eip-janitor across 4 accounts: 2 findings, 2 accounts not swept"),
    ],
)
def test_the_hub_email_counts_in_words_that_agree_with_the_numbers(
    accounts: int, findings_each: int, failed: int, subject: str
) -> None:
    email = render(
        "org-sweep-report", org_email_data("r-1", "eip-janitor", _parts(accounts, findings_each, failed))
    )

    assert email.subject == subject


def test_a_hub_email_queued_before_the_headline_still_renders() -> None:
    data = dict(org_email_data("r-1", "cors-sweep", _parts(2, 1, 0)))
    del data["headline"]  # type: ignore[misc]

    email = render("org-sweep-report", data)

    assert email.subject == "[Groundskeeper] cors-sweep across 2 accounts: 2 findings, 0 accounts not swept"


def test_the_hub_email_says_what_its_run_id_is() -> None:
    email = render("org-sweep-report", org_email_data("0c5e2d64", "eip-janitor", _parts(1, 0, 0)))

    assert "run 0c5e2d64 (the id of the schedule event that started it)" in _words(email)


def test_the_cors_email_counts_rules_from_one_and_names_the_setting_a_deployer_sets() -> None:
    report: Any = {
        "bucket": "b",
        "severity": "HIGH",
        "status": "non_compliant",
        "remediated": False,
        "audited_at": "2026-12-06T12:00:00Z",
        "findings": [
            {"rule_id": "wildcard-origin-write", "severity": "HIGH", "rule_index": 0, "detail": "origin '*'"},
            {"rule_id": "allowlist-tag", "severity": "LOW", "rule_index": -1, "detail": "bad tag"},
        ],
    }

    words = _words(render("cors-finding", cors_email_data(report)))

    assert "HIGH rule #1 wildcard-origin-write: origin '*'" in words
    assert "LOW bucket allowlist-tag: bad tag" in words
    assert "rules are counted from 1" in words
    assert "CorsRemediation=fix" in words
    assert "REMEDIATION=fix" not in words.replace("CorsRemediation=fix", "")
