"""Every bundled template is publishable: well-formed HTML, supported syntax, and only known variables."""

from __future__ import annotations

import pytest

from email_sender.html_wellformed import html_problems
from email_sender.template_store import (
    Template,
    bundled_template_names,
    check_template,
    load_bundled_template,
    template_problems,
)

# The data keys each template may use: the contract with the auditor, the janitor and applications.
KNOWN_DATA = {
    "cors-finding": {
        "bucket", "severity", "status", "finding_count", "findings_summary", "remediated", "audited_at",
    },
    "eip-janitor-report": {
        "dry_run", "released_count", "would_release_count", "marked_count", "error_count", "regions",
        "savings_usd", "summary", "run_id",
    },
    "example-welcome": {"name", "product", "support_email"},
}  # fmt: skip


def test_the_expected_templates_are_bundled() -> None:
    assert bundled_template_names() == sorted(KNOWN_DATA)


@pytest.mark.parametrize("name", sorted(KNOWN_DATA))
def test_bundled_template_is_publishable(name: str) -> None:
    template = load_bundled_template(name)
    assert template is not None
    assert html_problems(template.html) == []
    assert template_problems(template) == []
    assert template.text.strip() and template.html.strip()


@pytest.mark.parametrize("name", sorted(KNOWN_DATA))
def test_bundled_template_uses_only_known_variables(name: str) -> None:
    template = load_bundled_template(name)
    assert template is not None
    checked = check_template(template)
    assert checked.syntax_error is None
    used = checked.variables.required | checked.variables.optional
    assert used <= KNOWN_DATA[name]


def test_cors_and_janitor_templates_need_every_documented_key() -> None:
    # The producers always send all of these, as flat strings; the templates may rely on each.
    for name in ("cors-finding", "eip-janitor-report"):
        template = load_bundled_template(name)
        assert template is not None
        assert check_template(template).variables.required == KNOWN_DATA[name]


def test_example_welcome_needs_name_and_product_only() -> None:
    template = load_bundled_template("example-welcome")
    assert template is not None
    variables = check_template(template).variables
    assert variables.required == {"name", "product"}
    assert variables.optional == {"support_email"}


def test_unknown_or_escaping_names_are_not_bundled() -> None:
    assert load_bundled_template("no-such-template") is None
    assert load_bundled_template("../email_sender") is None


def test_template_problems_reports_each_kind() -> None:
    bad = Template(name="bad", subject="two\nlines", text="{{#with x}}{{/with}}", html="<p>unclosed")
    problems = template_problems(bad)
    assert any(p.startswith("html: ") for p in problems)
    assert any(p.startswith("syntax: ") and "#with" in p for p in problems)
    assert "subject: must be one non-empty line" in problems
