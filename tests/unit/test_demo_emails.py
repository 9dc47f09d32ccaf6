"""The demo's email folder: one run's emails, named so that a file tells which run and template it is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

from scripts.pipeline.flow import FlowResult, _template_of, clear_emails, collect_delivered
from scripts.pipeline.world import World


def _request(subject: str) -> dict[str, str]:
    return {
        "Action": "SendEmail",
        "Message.Subject.Data": subject,
        "Message.Body.Html.Data": "<p>hi</p>",
        "Message.Body.Text.Data": "hi",
        "Destination.ToAddresses.member.1": "ops@example.com",
    }


def test_a_run_starts_with_an_empty_email_folder(tmp_path: Path) -> None:
    emails = tmp_path / "emails"
    emails.mkdir()
    (emails / "01-cors-finding.html").write_text("an earlier run's")

    clear_emails(emails)

    assert list(emails.iterdir()) == []


def test_each_file_names_its_run_its_place_and_its_template(tmp_path: Path) -> None:
    result = FlowResult(world=cast(World, None), started="20261206T123000Z")
    result.send_requests = [
        _request("[Groundskeeper] HIGH CORS finding on bucket-1"),
        _request("[Groundskeeper] eip-janitor across 1 account: 1 finding, all swept"),
    ]

    collect_delivered(result, tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20261206T123000Z-01-cors-finding.html",
        "20261206T123000Z-01-cors-finding.txt",
        "20261206T123000Z-02-org-sweep-report.html",
        "20261206T123000Z-02-org-sweep-report.txt",
    ]
    assert [mail.template for mail in result.delivered] == ["cors-finding", "org-sweep-report"]


def test_a_run_is_stamped_with_its_start_time_in_utc() -> None:
    started = FlowResult(world=cast(World, None)).started
    assert re.fullmatch(r"\d{8}T\d{6}Z", started)


def test_a_subject_with_a_block_is_told_by_either_branch() -> None:
    assert (
        _template_of("[Groundskeeper] cors-sweep across 3 accounts: 0 findings, all swept")
        == "org-sweep-report"
    )
    assert _template_of("[Groundskeeper] cors-sweep across 3 accounts: 0 findings, 0 accounts not swept") == (
        "org-sweep-report"
    )
