"""The local SAM loop: a real moto server process, one `sam build`, and `sam local invoke` per test.

Every step goes through the project's own scripts in scripts/local, the same ones `make` uses, so these
tests prove the loop a developer runs. They need a container engine; the scripts start one if they can.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.pipeline.moto_server import MotoServer, for_local_tests, stop_with_script
from tests.conftest import EVENTS_DIR, REPO_ROOT

LOCAL_SCRIPTS = REPO_ROOT / "scripts" / "local"
# Not the demo's port (5055): a test run resets its server and must never wipe a developer's demo world.
# When another process holds this port, the tests take a free one (scripts/pipeline/moto_server.py).
MOTO_PORT = os.environ.get("GK_LOCAL_TEST_MOTO_PORT", "5077")
Event = str | dict[str, Any]  # a file name in events/, or the event itself


# Every test module here sets `pytestmark = LOCAL_LOOP`. The tests share one moto server and one build,
# so `make test` runs them in a pytest process of their own, one at a time.
LOCAL_LOOP = [pytest.mark.local]


def _run_script(name: str, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(LOCAL_SCRIPTS / name), *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"{name} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _parse_exports(text: str) -> dict[str, str]:
    exported = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line.removeprefix("export ").partition("=")
            exported[name.strip()] = value.strip().strip("'\"")
    return exported


@pytest.fixture(scope="session")
def engine_env() -> dict[str, str]:
    """Start (or find) a container engine and make sure the Lambda base image exists."""
    _run_script("docker-engine.sh", "start")
    env = _parse_exports(_run_script("docker-engine.sh", "env"))
    _run_script("lambda-base-image.sh", env=env)
    return env


@pytest.fixture(scope="session")
def moto_process(engine_env: dict[str, str]) -> Iterator[MotoServer]:
    """A server moto-server.sh started for us: never one another process runs, since each test resets it."""
    server = for_local_tests(MOTO_PORT, engine_env)
    yield server
    stop_with_script(server, engine_env)


@pytest.fixture
def moto_server(moto_process: MotoServer) -> MotoServer:
    """The session's moto server, emptied before each test."""
    moto_process.reset()
    return moto_process


@pytest.fixture(scope="session")
def sam_built(engine_env: dict[str, str]) -> None:
    subprocess.run([str(REPO_ROOT / "scripts" / "build.sh")], cwd=REPO_ROOT, check=True, timeout=900)


@dataclass
class SamInvocation:
    result: dict[str, Any]
    logs: str


@pytest.fixture
def sam_invoke_full(
    sam_built: None, moto_server: MotoServer, engine_env: dict[str, str], tmp_path: Path
) -> Any:
    """Run `sam local invoke` on the built app against the moto server; returns the result and the logs."""

    def invoke(logical_id: str, event: Event, env: dict[str, str] | None = None) -> SamInvocation:
        if isinstance(event, str):
            event_path = EVENTS_DIR / event
        else:
            event_path = tmp_path / f"{logical_id}-event.json"
            event_path.write_text(json.dumps(event))
        env_file = tmp_path / f"{logical_id}-env.json"
        variables = {"AWS_ENDPOINT_URL": moto_server.container_endpoint, **(env or {})}
        env_file.write_text(json.dumps({logical_id: variables}))
        proc = subprocess.run(
            [
                str(LOCAL_SCRIPTS / "sam-local.sh"),
                "local",
                "invoke",
                logical_id,
                "--event",
                str(event_path),
                "--env-vars",
                str(env_file),
                "--skip-pull-image",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, **engine_env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        # A handler that raises still exits 0: its error shows up as an errorType payload.
        assert proc.returncode == 0, f"sam local invoke failed:\n{proc.stdout}\n{proc.stderr}"
        assert "errorType" not in proc.stdout, f"{logical_id} raised:\n{proc.stdout}\n{proc.stderr}"
        payload = [line for line in proc.stdout.splitlines() if line.strip().startswith("{")]
        assert payload, f"{logical_id} printed no result:\n{proc.stdout}\n{proc.stderr}"
        result: dict[str, Any] = json.loads(payload[-1])
        return SamInvocation(result=result, logs=proc.stderr)

    return invoke


@pytest.fixture
def sam_invoke(sam_invoke_full: Any) -> Any:
    """Like sam_invoke_full, but returns only the handler's JSON result."""

    def invoke(logical_id: str, event: Event, env: dict[str, str] | None = None) -> dict[str, Any]:
        invocation: SamInvocation = sam_invoke_full(logical_id, event, env)
        return invocation.result

    return invoke
