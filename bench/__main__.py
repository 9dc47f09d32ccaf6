"""`make bench`: runs every benchmark and prints one table, each figure a ratio from the same run.

A full run also writes that table, with the machine, the date and the commit, into docs/performance.md.
"""

from __future__ import annotations

import importlib
import sys
import time
from typing import Any

from bench import performance_doc
from bench.harness import REPO_ROOT
from bench.table import render

# In the order of docs/performance.md's table.
MODULES = [
    "bench.cold_start",
    "bench.cors_auditor",
    "bench.email_sender",
    "bench.html_fragments",
    "bench.renderer",
    "bench.ses_rate",
    "bench.eip_janitor",
    "bench.org_sweep",
    "bench.build_sizes",
]


def main() -> int:
    rows: list[dict[str, Any]] = []
    for name in MODULES:
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(name).run())
        print(f"  {name} took {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    info = performance_doc.this_run(REPO_ROOT)
    print(f"Groundskeeper benchmarks, {info.when:%Y-%m-%d %H:%M} UTC, {info.machine}, commit {info.commit}")
    print(render(rows))
    written = performance_doc.write(rows, info)
    print(f"wrote {written.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
