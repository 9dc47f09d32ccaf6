"""Every bundled template is publishable, renders the producers' data, and escapes it in the HTML part."""

from __future__ import annotations

import pytest

from email_sender.errors import MISSING_RENDERING_ATTRIBUTE
from email_sender.template_store import (
    Template,
    bundled_template_names,
    check_template,
    load_bundled_template,
    template_problems,
)
from groundskeeper.errors import PermanentError

# The data keys each template may use: the contract with the auditor, the janitor and applications.
KNOWN_DATA = {
    "cors-finding": {
        "bucket", "severity", "status", "finding_count", "findings_summary", "remediated", "audited_at",
    },
    "eip-janitor-report": {
        "dry_run", "released_count", "would_release_count", "marked_count", "error_count", "regions",
        "savings_usd", "summary", "run_id", "dns_protected_count", "dns_held_back", "idle_addresses",
        "run_note", "released_earlier_count",
    },
    "example-welcome": {"name", "product", "support_email"},
    "org-sweep-report": {"job", "run_id", "accounts", "failed_accounts", "findings", "summary", "headline"},
}  # fmt: skip
# Keys a template renders without: a message queued by a producer from before the key still renders.
OPTIONAL = {"example-welcome": {"support_email"}, "org-sweep-report": {"headline"}}
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "https://a.example' onclick='x"]


def _data(name: str, value: str = "value") -> dict[str, str]:
    return {key: f"{key}-{value}" for key in KNOWN_DATA[name]}


def test_the_expected_templates_are_bundled() -> None:
    assert bundled_template_names() == sorted(KNOWN_DATA)


@pytest.mark.parametrize("name", sorted(KNOWN_DATA))
def test_bundled_template_is_publishable(name: str) -> None:
    template = load_bundled_template(name)
    assert template is not None
    assert template_problems(template) == []
    assert template.text.strip() and template.html.strip()


@pytest.mark.parametrize("name", sorted(KNOWN_DATA))
def test_bundled_template_renders_the_documented_data_and_needs_each_required_key(name: str) -> None:
    template = load_bundled_template(name)
    assert template is not None
    checked = check_template(template)
    rendered = checked.render(_data(name))
    assert all(f"{key}-value" in rendered.subject + rendered.text for key in KNOWN_DATA[name])
    for key in KNOWN_DATA[name] - OPTIONAL.get(name, set()):
        data = _data(name)
        del data[key]
        with pytest.raises(PermanentError) as refused:
            checked.render(data)
        assert refused.value.code == MISSING_RENDERING_ATTRIBUTE
        assert key in refused.value.message
    for key in OPTIONAL.get(name, set()):
        data = _data(name)
        del data[key]
        assert checked.render(data).html


@pytest.mark.parametrize("name", sorted(KNOWN_DATA))
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_data_is_text_in_the_html_part_and_verbatim_in_the_text_part(name: str, hostile: str) -> None:
    template = load_bundled_template(name)
    assert template is not None
    rendered = check_template(template).render({key: hostile for key in KNOWN_DATA[name]})
    assert hostile not in rendered.html
    assert "<script" not in rendered.html and "<img" not in rendered.html and "' onclick" not in rendered.html
    assert hostile in rendered.text


def test_unknown_or_escaping_names_are_not_bundled() -> None:
    assert load_bundled_template("no-such-template") is None
    assert load_bundled_template("../email_sender") is None


def test_template_problems_reports_each_kind() -> None:
    bad = Template(name="bad", subject="two\nlines", text="{{#with x}}", html="<p>{{{raw}}} {{& also}}</p>")
    problems = template_problems(bad)
    assert any(p.startswith("syntax: text: ") for p in problems)
    assert "subject: must be one non-empty line" in problems
    raw_html = Template(name="raw", subject="s", text="t", html="<p>{{{raw}}} {{& also}}</p>")
    assert [p for p in template_problems(raw_html) if "unescaped" in p] == [
        "html: line 1: {{{raw}}} / {{& raw}} would put data into markup unescaped: write {{x}}",
        "html: line 1: {{{also}}} / {{& also}} would put data into markup unescaped: write {{x}}",
    ]


def test_valid_html5_is_not_a_problem() -> None:
    html = "<p>one<p>two{{#if a}}<div class=a>{{else}}<div class=b>{{/if}}body</div><br>"
    assert template_problems(Template(name="html5", subject="s", text="t", html=html)) == []
