"""What every benchmark shares: the import path, a fake Lambda context, env swapping, and call counting."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RTT = 0.030  # a typical in-region AWS round trip, added to every call on both sides of a comparison

# `python -m bench...` has no pytest pythonpath: put the layer and the functions on it once, here.
_FOLDERS = (
    "layers/groundskeeper",
    *(f"functions/{name}" for name in ("cors_auditor", "email_sender", "eip_janitor")),
)
for _folder in _FOLDERS:
    if str(REPO_ROOT / _folder) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / _folder))


@dataclass
class FakeContext:
    function_name: str = "bench"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then put the old values back."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_CALLS_LOCK = threading.Lock()  # handlers call AWS from several threads at once


def instrument(client: Any, calls: Counter[str], delay: float) -> None:
    """Count API calls (not retries) and add a simulated round trip before every request."""
    service = client.meta.service_model.service_name

    def count(model: Any, **_: Any) -> None:
        with _CALLS_LOCK:
            calls[model.name] += 1

    client.meta.events.register(f"before-call.{service}", count)
    if delay:
        client.meta.events.register(f"before-send.{service}", lambda **_: time.sleep(delay))


def row(
    id_: str, figure: str, ours: float, baseline: float | None, *, unit: str, note: str
) -> dict[str, Any]:
    """One line of the benchmark table; the ratio is ours / baseline."""
    return {
        "id": id_,
        "figure": figure,
        "ours": round(ours, 4),
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": round(ours / baseline, 4) if baseline else None,
        "unit": unit,
        "note": note,
    }
