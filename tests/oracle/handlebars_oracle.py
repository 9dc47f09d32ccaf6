"""Runs template cases through Handlebars.js (the reference) in one node process; see render.js."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, TypedDict

import pytest

ORACLE_DIR = Path(__file__).resolve().parent
RENDER_JS = ORACLE_DIR / "render.js"


class OracleCase(TypedDict):
    template: str
    data: Any
    mode: str  # "text", "html" or "html-raw" (see render.js)


class OracleResult(TypedDict, total=False):
    ok: bool
    output: str
    error: str
    phase: str  # with an error: "compile" (the template is refused) or "render" (this data is)
    missing: bool  # ours only: the error is a MissingVariableError


def oracle_missing() -> str | None:
    """Why the oracle cannot run here (None when it can)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ORACLE_DIR / "node_modules" / "handlebars").is_dir():
        return "tests/oracle/node_modules is missing: run `make oracle`"
    return None


def required_in_ci() -> bool:
    """CI depends on the oracle (core tooling, docs/testing.md): there a missing one fails, not skips."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_oracle() -> None:
    """Skip the calling test when the oracle is missing here; fail it instead when running in CI."""
    missing = oracle_missing()
    if missing is None:
        return
    if required_in_ci():
        pytest.fail(f"Handlebars.js oracle is required in CI (CI=true): {missing}", pytrace=False)
    pytest.skip(f"Handlebars.js oracle: {missing}")


def oracle_render(cases: list[OracleCase]) -> list[OracleResult]:
    node = shutil.which("node")
    assert node is not None
    completed = subprocess.run(
        [node, str(RENDER_JS)],
        input=json.dumps(cases, allow_nan=False),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogatepass",
        check=True,
        timeout=300,
    )
    results: list[OracleResult] = json.loads(completed.stdout)
    return results
