"""What every benchmark shares: the import path, env swapping, call counting and the row format.

The moto server is scripts/pipeline/moto_server.py's and the Lambda context is tests/lambda_context.py's.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RTT = 0.030  # a typical in-region AWS round trip, added to every call on both sides of a comparison

# `python -m bench...` has no pytest pythonpath: put the layer and the functions on it once, here.
_FOLDERS = (
    "layers/groundskeeper",
    "layers/org",
    *(f"functions/{name}" for name in ("cors_auditor", "email_sender", "eip_janitor")),
)
for _folder in _FOLDERS:
    if str(REPO_ROOT / _folder) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / _folder))

# Every in-process benchmark shares one interpreter, and the first import of groundskeeper.observability makes
# the Metrics object with the namespace the environment has then (a seed step may import it before a module's
# own environment is set). The template's default, as on Lambda, where the environment precedes every import.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Groundskeeper")


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


SES_NAMESPACE = "http://ses.amazonaws.com/doc/2010-12-01/"


class _Body:
    """Just enough of a urllib3 response for botocore to read a canned body."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def ses_answer(status: int, xml: str) -> Any:
    """An SES HTTP response with this XML body, for a `before-send` hook to return instead of sending.

    A response returned at `before-send` is parsed and retried by botocore like one from the wire (a
    `before-call` answer would skip botocore's retries), so a simulated throttle costs what a real one does.
    """
    from botocore.awsrequest import AWSResponse

    return AWSResponse("https://email.us-east-1.amazonaws.com/", status, {}, _Body(xml.encode()))


def answer_send_quota(ses: Any, max_send_rate: float) -> None:
    """Make GetSendQuota on this client say `max_send_rate` emails/s (moto always says 1)."""
    xml = (
        f'<GetSendQuotaResponse xmlns="{SES_NAMESPACE}"><GetSendQuotaResult>'
        f"<Max24HourSend>1000000</Max24HourSend><MaxSendRate>{max_send_rate}</MaxSendRate>"
        "<SentLast24Hours>0</SentLast24Hours></GetSendQuotaResult>"
        "<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></GetSendQuotaResponse>"
    )
    ses.meta.events.register("before-send.ses.GetSendQuota", lambda **_: ses_answer(200, xml))
