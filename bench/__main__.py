"""`make bench`: runs every benchmark and prints one table, each figure a ratio from the same run."""

from __future__ import annotations

import importlib
import platform
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.table import render

# In the order of the README's Performance table.
MODULES = [
    "bench.cold_start",
    "bench.cors_auditor",
    "bench.email_sender",
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
    machine = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    print(f"Groundskeeper benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine}")
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
