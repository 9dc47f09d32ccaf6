"""P5: unzipped sizes of the built layer and functions in .aws-sam/build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD = REPO_ROOT / ".aws-sam" / "build"
GOAL_MB = 10.0


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1_000_000


def run() -> list[dict[str, Any]]:
    if not BUILD.is_dir():
        raise SystemExit("run `sam build` (make build) first: P5 measures .aws-sam/build")
    rows = []
    for name in ("CommonLayer", "CorsAuditorFunction", "EmailSenderFunction", "EipJanitorFunction"):
        megabytes = size_mb(BUILD / name)
        rows.append(
            {
                "id": "P5",
                "figure": f"unzipped size {name}",
                "ours": megabytes,
                "baseline": GOAL_MB,
                "ratio": megabytes / GOAL_MB,
                "unit": "MB",
                "note": "baseline = the 10 MB goal",
            }
        )
    return rows


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
