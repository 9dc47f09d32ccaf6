"""Serves the SAM-built functions with `sam local start-lambda`; invokes them with a boto3 Lambda client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
SAM_LOCAL = REPO_ROOT / "scripts" / "local" / "sam-local.sh"
DOCKER_ENGINE = REPO_ROOT / "scripts" / "local" / "docker-engine.sh"


class FunctionError(RuntimeError):
    """The function raised: sam local reports it as a FunctionError payload, not as a failed command."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    """`docker ARGS` on the engine SAM uses: the one docker-engine.sh names, as sam-local.sh finds it."""
    return subprocess.run(
        ["bash", "-c", 'eval "$("$0" env)" && exec docker "$@"', str(DOCKER_ENGINE), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _sam_containers() -> set[str]:
    """The ids of every function container SAM CLI has made on the engine (running or not)."""
    proc = _docker("ps", "-aq", "--no-trunc", "--filter", "label=sam.cli.container.type=lambda")
    if proc.returncode != 0:
        raise RuntimeError(f"docker ps failed ({proc.returncode}): {proc.stderr.strip()}")
    return set(proc.stdout.split())


def _remove_containers(ids: set[str]) -> None:
    if ids:
        _docker("rm", "-f", *sorted(ids))


def _wait_until_listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sam local start-lambda exited early:\n{log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"sam local start-lambda did not listen on {port} within {timeout}s")


class LocalLambda:
    """A boto3 Lambda client bound to `sam local start-lambda`."""

    def __init__(self, port: int) -> None:
        self.client = boto3.client(
            "lambda",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            # One attempt: a retried invocation would run the function twice.
            config=Config(read_timeout=310, retries={"total_max_attempts": 1}),
        )

    def invoke(self, logical_id: str, event: Mapping[str, Any]) -> dict[str, Any]:
        response = self.client.invoke(FunctionName=logical_id, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise FunctionError(f"{logical_id} raised: {payload}")
        result: dict[str, Any] = payload
        return result


@contextmanager
def start_lambda(env_vars: Mapping[str, Mapping[str, str]], workdir: Path) -> Iterator[LocalLambda]:
    """Serve every function of the built template; `env_vars` is the --env-vars document."""
    workdir.mkdir(parents=True, exist_ok=True)
    env_file = workdir / "start-lambda-env.json"
    env_file.write_text(json.dumps(env_vars, indent=2))
    log = workdir / "start-lambda.log"
    port = _free_port()
    before = _sam_containers()
    with log.open("wb") as log_handle:
        proc = subprocess.Popen(
            [
                str(SAM_LOCAL),
                "local",
                "start-lambda",
                "--port",
                str(port),
                "--env-vars",
                str(env_file),
                "--warm-containers",
                "EAGER",
                "--skip-pull-image",
            ],
            cwd=REPO_ROOT,
            env=dict(os.environ),
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_listening(port, proc, log)
        yield LocalLambda(port)
    finally:
        # In the background start-lambda ignores SIGINT; SIGTERM to its group stops it and its containers.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # SIGTERM does not always take a warm container down with start-lambda. One left running keeps its
        # host port, and a later `sam local invoke` handed that port talks to the wrong function, so remove
        # the containers this run made (and only those).
        _remove_containers(_sam_containers() - before)
