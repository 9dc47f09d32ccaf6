"""Fixtures for every test: fake credentials, a fixed region, and no route to real AWS."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# moto must be imported before any boto3 client exists, or that client is not mocked.
import moto
import pytest

from tests.lambda_context import REGION, FakeLambdaContext

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"

# Set before any test module imports a handler: settings and Powertools read them at import time.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "groundskeeper-tests",
        "POWERTOOLS_METRICS_NAMESPACE": "GroundskeeperTests",
        "POWERTOOLS_DEV": "false",
    }
)
# A leftover endpoint would make mock_aws pass requests through to it, or to real AWS.
for _name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
    del os.environ[_name]
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture
def aws() -> Iterator[None]:
    """An empty in-process moto account; cached layer clients are dropped before and after."""
    from groundskeeper.aws_clients import reset_clients

    reset_clients()
    with moto.mock_aws():
        yield
    reset_clients()


def load_event(name: str) -> dict[str, Any]:
    """One of the sample events in events/, as the function would receive it."""
    data: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return data


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
