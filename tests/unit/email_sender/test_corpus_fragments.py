"""Real templates that pass a producer's HTML through {{{x}}}: the ses_corpus/ entries with one in their HTML.

The sender sends their fragments sanitized, not escaped; hostile markup in them is gone. Where sanitizing
leaves every fragment as it was, the HTML part is exactly what Handlebars.js itself renders (the oracle's
"html-raw" mode: triple-stash unescaped).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from email_sender.handlebars import Escaping, compile_template, escape_html
from email_sender.html_fragments import sanitize
from email_sender.template_store import Template, check_template
from tests.oracle.handlebars_oracle import OracleCase, oracle_render, require_oracle

CORPUS_DIR = Path(__file__).parent / "ses_corpus"
MUST_FAIL = ("missing_",)


def fragment_templates() -> list[dict[str, Any]]:
    entries = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(CORPUS_DIR.glob("*.json"))]
    return [e for e in entries if compile_template(e["template"].get("html", "")).raw_outputs]


def variants() -> list[Any]:
    return [
        pytest.param(entry, data, id=f"{entry['name']}/{variant}")
        for entry in fragment_templates()
        for variant, data in entry["variants"].items()
        if not variant.startswith(MUST_FAIL)
    ]


def fragments_of(entry: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """The values the HTML part's {{{x}}} and {{& x}} receive for `data`."""
    seen: list[str] = []

    def record(value: str) -> str:
        seen.append(value)
        return escape_html(value)

    compile_template(entry["template"]["html"]).render(data, Escaping.HTML, record)
    return seen


def sent_html(entry: dict[str, Any], data: dict[str, Any]) -> str:
    parts = entry["template"]
    template = Template(entry["name"], parts.get("subject", "s"), parts.get("text", ""), parts["html"])
    return check_template(template).render(data).html


def test_the_corpus_holds_real_templates_that_pass_markup_through_a_triple_stash() -> None:
    entries = fragment_templates()
    assert len(entries) >= 2
    for entry in entries:
        source = entry["source"]
        assert source["repository"] and source["path"] and source["commit"] and source["licence"], entry[
            "name"
        ]
        assert {"complete", "fragments_nh3_keeps", "hostile_fragments"} <= set(entry["variants"]), entry[
            "name"
        ]


@pytest.mark.parametrize(("entry", "data"), variants())
def test_their_fragments_are_sent_as_sanitized_markup_not_as_escaped_text(
    entry: dict[str, Any], data: dict[str, Any]
) -> None:
    html = sent_html(entry, data)
    fragments = fragments_of(entry, data)
    assert any("<" in fragment for fragment in fragments)
    for fragment in fragments:
        assert sanitize(fragment) in html
        if "<" in fragment:
            assert escape_html(fragment) not in html


@pytest.mark.parametrize("entry", fragment_templates(), ids=lambda entry: entry["name"])
def test_hostile_markup_in_their_fragments_is_gone(entry: dict[str, Any]) -> None:
    html = sent_html(entry, entry["variants"]["hostile_fragments"]).lower()
    for hostile in (
        "<script",
        "onerror",
        "onmouseover",
        "javascript:",
        "<iframe",
        "<form",
        "<input",
        "display:none",
    ):
        assert hostile not in html


@pytest.fixture
def oracle() -> None:
    require_oracle()


@pytest.mark.usefixtures("oracle")
def test_where_sanitizing_keeps_every_fragment_they_render_as_handlebars_js_does() -> None:
    compared: list[tuple[str, str, OracleCase]] = []
    for entry in fragment_templates():
        for variant, data in entry["variants"].items():
            if variant.startswith(MUST_FAIL):
                continue
            if all(sanitize(fragment) == fragment for fragment in fragments_of(entry, data)):
                case: OracleCase = {"template": entry["template"]["html"], "data": data, "mode": "html-raw"}
                compared.append((entry["name"], variant, case))
    # Not vacuous: every entry's variant written for this comparison is in it.
    assert {(name, variant) for name, variant, _ in compared} >= {
        (entry["name"], "fragments_nh3_keeps") for entry in fragment_templates()
    }
    results = oracle_render([case for *_, case in compared])
    for (name, variant, case), theirs in zip(compared, results, strict=True):
        entry = next(e for e in fragment_templates() if e["name"] == name)
        assert theirs == {"ok": True, "output": sent_html(entry, case["data"])}, f"{name}/{variant}"
