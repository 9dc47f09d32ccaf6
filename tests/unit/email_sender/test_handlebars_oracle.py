"""The renderer agrees with Handlebars.js on real SES templates, hand-written edge cases and generated ones.

Every case runs through both: the same accept/reject and, when accepted, the same output. When both fail,
they fail at the same stage (compile or render), and a render fails for a missing variable in both or in
neither. The public SES templates live in ses_corpus/, each with its source and data variants; the reference
runs in one node process (tests/oracle, installed by `make oracle`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from email_sender.handlebars import (
    Escaping,
    MissingVariableError,
    TemplateRenderError,
    TemplateSyntaxError,
    compile_template,
)
from tests.oracle.edge_cases import edge_cases
from tests.oracle.fuzz_cases import fuzz_cases
from tests.oracle.generated_cases import generated_cases
from tests.oracle.handlebars_oracle import OracleCase, OracleResult, oracle_render, require_oracle

CORPUS_DIR = Path(__file__).parent / "ses_corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.json"))
GENERATED_TEMPLATES = 1500
FUZZED_TEMPLATES = 300
MODES = {"text": Escaping.NONE, "html": Escaping.HTML}
PART_MODES = {"subject": "text", "text": "text", "html": "html"}
# Variants whose data lacks something that a taken branch, an #each item or the top level needs.
MUST_FAIL = ("missing_top_level", "missing_in_true_branch", "missing_in_each_item", "missing_parent")


@pytest.fixture
def oracle() -> None:
    """Locally a missing oracle skips the test, saying why; in CI (CI=true) it fails it."""
    require_oracle()


needs_oracle = pytest.mark.usefixtures("oracle")


# Handlebars.js's errors for a variable that is not there: its strict lookup's own, and the TypeErrors of
# reading through undefined or a string (which its internals can throw for other reasons too).
STRICT_LOOKUP = re.compile(r"\"[^\"]*\" not defined in ")
MISSING_VARIABLE = re.compile(
    rf"{STRICT_LOOKUP.pattern}|Cannot read properties of (undefined|null)|Cannot use 'in'"
)
# Ours for a helper that does not exist: it fails whatever the data. Handlebars.js (strict) first looks such a
# helper up in the data, so its error reads as a missing variable's; data never holds a function.
NOT_A_HELPER = ("unknown helper ", "helperMissing is not a helper", "blockHelperMissing is not a helper")


def ours(case: OracleCase) -> OracleResult:
    try:
        template = compile_template(case["template"])
    except TemplateSyntaxError as exc:
        return {"ok": False, "error": str(exc), "phase": "compile"}
    try:
        return {"ok": True, "output": template.render(case["data"], MODES[case["mode"]])}
    except TemplateRenderError as exc:
        missing = isinstance(exc, MissingVariableError)
        return {"ok": False, "error": str(exc), "phase": "render", "missing": missing}


def as_utf8_carries(text: str) -> str:
    """A JavaScript string as UTF-8 holds it: a lone surrogate (half of an astral character) is U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def agree(mine: OracleResult, theirs: OracleResult) -> bool:
    if mine["ok"] or theirs["ok"]:
        return mine["ok"] == theirs["ok"] and mine["output"] == as_utf8_carries(theirs["output"])
    if mine["phase"] != theirs["phase"] or mine["phase"] == "compile":
        return mine["phase"] == theirs["phase"]
    if mine["missing"]:  # we blame the data only where Handlebars.js fails reading it
        return MISSING_VARIABLE.match(theirs["error"]) is not None
    # and we do where its strict lookup fails, unless the name is a helper's that does not exist
    return STRICT_LOOKUP.match(theirs["error"]) is None or mine["error"].startswith(NOT_A_HELPER)


def disagreements(cases: list[OracleCase]) -> list[str]:
    found = []
    for case, theirs in zip(cases, oracle_render(cases), strict=True):
        mine = ours(case)
        if not agree(mine, theirs):
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


@needs_oracle
def test_fuzzed_grammar_corners_agree_with_handlebars_js() -> None:
    assert disagreements(fuzz_cases(FUZZED_TEMPLATES)) == []
