"""The renderer agrees with Handlebars.js on real SES templates, hand-written edge cases and generated ones.

Every case runs through both: the same accept/reject and, when accepted, the same output. The public SES
templates live in ses_corpus/, each with its source and data variants; the reference runs in one node process
(tests/oracle, installed by `make oracle`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from email_sender.handlebars import Escaping, TemplateRenderError, TemplateSyntaxError, compile_template
from tests.oracle.edge_cases import edge_cases
from tests.oracle.generated_cases import generated_cases
from tests.oracle.handlebars_oracle import OracleCase, OracleResult, oracle_render, require_oracle

CORPUS_DIR = Path(__file__).parent / "ses_corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.json"))
GENERATED_TEMPLATES = 1500
MODES = {"text": Escaping.NONE, "html": Escaping.HTML}
PART_MODES = {"subject": "text", "text": "text", "html": "html"}
# Variants whose data lacks something that a taken branch, an #each item or the top level needs.
MUST_FAIL = ("missing_top_level", "missing_in_true_branch", "missing_in_each_item", "missing_parent")


@pytest.fixture
def oracle() -> None:
    """Locally a missing oracle skips the test, saying why; in CI (CI=true) it fails it."""
    require_oracle()


needs_oracle = pytest.mark.usefixtures("oracle")


def ours(case: OracleCase) -> OracleResult:
    try:
        return {
            "ok": True,
            "output": compile_template(case["template"]).render(case["data"], MODES[case["mode"]]),
        }
    except (TemplateSyntaxError, TemplateRenderError) as exc:
        return {"ok": False, "error": str(exc)}


def disagreements(cases: list[OracleCase]) -> list[str]:
    found = []
    for case, theirs in zip(cases, oracle_render(cases), strict=True):
        mine = ours(case)
        if mine["ok"] != theirs["ok"] or (mine["ok"] and mine["output"] != theirs["output"]):
            found.append(f"{case!r}\n  ours:   {mine!r}\n  theirs: {theirs!r}")
    return found


def corpus_cases() -> list[tuple[str, str, str, OracleCase]]:
    """(file, variant, part, case) for every part of every variant of every corpus template."""
    cases = []
    for path in CORPUS:
        entry = json.loads(path.read_text(encoding="utf-8"))
        for variant, data in entry["variants"].items():
            for part, source in entry["template"].items():
                case: OracleCase = {"template": source, "data": data, "mode": PART_MODES[part]}
                cases.append((path.stem, variant, part, case))
    return cases


def test_corpus_has_at_least_20_sourced_templates() -> None:
    assert len(CORPUS) >= 20
    for path in CORPUS:
        entry: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        assert entry["source"]["repository"] and entry["source"]["path"], path.name
        assert entry["template"] and "complete" in entry["variants"], path.name


def test_corpus_variants_render_or_fail_as_labelled() -> None:
    """Complete data renders every part; a missing variable in a taken path fails at least one part."""
    outcomes: dict[tuple[str, str], list[bool]] = {}
    for name, variant, _, case in corpus_cases():
        outcomes.setdefault((name, variant), []).append(ours(case)["ok"])
    for (name, variant), parts_ok in outcomes.items():
        if variant.startswith(MUST_FAIL):
            assert not all(parts_ok), f"{name}/{variant} should not render"
        else:
            assert all(parts_ok), f"{name}/{variant} should render"


@needs_oracle
def test_corpus_agrees_with_handlebars_js() -> None:
    assert disagreements([case for *_, case in corpus_cases()]) == []


@needs_oracle
def test_edge_cases_agree_with_handlebars_js() -> None:
    assert disagreements(edge_cases()) == []


@needs_oracle
def test_generated_templates_agree_with_handlebars_js() -> None:
    assert disagreements(generated_cases(GENERATED_TEMPLATES)) == []
