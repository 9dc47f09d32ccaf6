"""Runs template cases through Handlebars.js (the reference) in one node process; see render.js."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, TypedDict

ORACLE_DIR = Path(__file__).resolve().parent
RENDER_JS = ORACLE_DIR / "render.js"


class OracleCase(TypedDict):
    template: str
    data: Any
    mode: str  # "text", "html" or "html-always"


class OracleResult(TypedDict, total=False):
    ok: bool
    output: str
    error: str


def oracle_missing() -> str | None:
    """Why the oracle cannot run here (None when it can)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ORACLE_DIR / "node_modules" / "handlebars").is_dir():
        return "tests/oracle/node_modules is missing: run `make oracle`"
    return None


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
