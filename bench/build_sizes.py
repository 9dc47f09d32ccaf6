"""P5: unzipped sizes of the built layer and functions in .aws-sam/build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.harness import REPO_ROOT, row

BUILD = REPO_ROOT / ".aws-sam" / "build"
GOAL_MB = 10.0


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1_000_000


def run() -> list[dict[str, Any]]:
    if not BUILD.is_dir():
        raise SystemExit("run `sam build` (make build) first: P5 measures .aws-sam/build")
    # One function per code folder: the auditor's and the janitor's other functions ship the same code.
    names = (
        "CommonLayer",
        "OrgLayer",
        "CorsAuditorFunction",
        "EmailSenderFunction",
        "EipJanitorFunction",
        "OrgPlannerFunction",
    )
    return [
        row("P5", f"unzipped size {name}", size_mb(BUILD / name), GOAL_MB, unit="MB", note="baseline = goal")
        for name in names
    ]


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
