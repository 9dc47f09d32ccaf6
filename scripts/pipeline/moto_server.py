"""The embedded AWS: one moto server, as the demo, the local tests and the benchmarks start and use it.

Three ways to get one, one class to use it:
- `for_local_tests()`: through scripts/local/moto-server.sh (the loop a developer runs), on a port nobody
  else holds, because the tests reset it before every test;
- `MotoServer.spawn()`: a child `moto.server` process on a free loopback port (the benchmarks), stopped
  with `stop()`, its DynamoDB atomic per request as DynamoDB is (`serialise_dynamodb`);
- `MotoServer(endpoint, container_endpoint)`: a server that is already running (the demo's own).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "local" / "moto-server.sh"
PORT_TAKEN = 3  # moto-server.sh start's exit status when a process it did not start holds the port


@contextlib.contextmanager
def serialise_dynamodb() -> Iterator[None]:
    """moto's DynamoDB, in this interpreter, one request at a time.

    moto applies an update expression or a TransactWriteItems without a lock: two concurrent `ADD done :one`
    can both read the old value (a lost update), and a transaction deep-copies a table another thread is
    writing to ("dictionary changed size during iteration"). DynamoDB applies each request atomically, and
    the org run's done counter relies on it."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


class PortTakenError(RuntimeError):
    """The port is held by a process that moto-server.sh did not start, so its state is not ours."""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(endpoint: str, timeout: float = 1.0) -> bool:
    try:
        urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=timeout).close()
    except OSError:
        return False
    return True


class MotoServer:
    """A moto server: `endpoint` is for the host, `container_endpoint` for a function container."""

    def __init__(self, endpoint: str, container_endpoint: str | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.container_endpoint = (container_endpoint or endpoint).rstrip("/")
        self._clients: dict[tuple[str, str], Any] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._threaded: Any = None  # moto's ThreadedMotoServer, when it runs in this interpreter

    @classmethod
    def spawn(cls, *, in_process: bool = False, wait: float = 30.0) -> MotoServer:
        """A server of our own on a free loopback port; `stop()` ends it.

        By default it runs in its own process, as AWS does: in ours its CPU would compete with the caller's
        threads for one GIL. `in_process=True` runs moto's ThreadedMotoServer here instead.
        """
        if in_process:
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
            threaded = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            threaded.start()
            host, port = threaded.get_host_and_port()
            server = cls(f"http://{host}:{port}")
            server._threaded = threaded
            return server
        port = free_port()
        server = cls(f"http://127.0.0.1:{port}")
        server._process = subprocess.Popen(
            [sys.executable, "-m", "scripts.pipeline.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + wait
        while not answers(server.endpoint):
            if time.monotonic() > deadline or server._process.poll() is not None:
                server.stop()
                raise RuntimeError(f"the moto server on port {port} did not start")
            time.sleep(0.1)
        return server

    def stop(self) -> None:
        """Stop the server if `spawn()` started it; a server we only use is left alone."""
        if self._threaded is not None:
            self._threaded.stop()
            self._threaded = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # werkzeug can linger on many kept-alive connections
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client bound to the server, made once per (service, region)."""
        if (service, region) not in self._clients:
            self._clients[service, region] = boto3.client(
                service, region_name=region, endpoint_url=self.endpoint, **DUMMY_CREDENTIALS
            )
        return self._clients[service, region]

    def for_container(self, url: str) -> str:
        """A URL moto gave the host (a queue URL, say), as a function container must write it."""
        return url.replace(self.endpoint, self.container_endpoint)

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def _post(self, path: str) -> None:
        request = urllib.request.Request(f"{self.endpoint}{path}", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def start_recording(self) -> None:
        """Record every request from now on (moto's recorder), replacing any earlier recording."""
        self._post("/moto-api/recorder/reset-recording")
        self._post("/moto-api/recorder/start-recording")

    def stop_recording(self) -> list[dict[str, str]]:
        """Stop recording; the form fields of each recorded query-protocol request (SES, SQS, ...)."""
        self._post("/moto-api/recorder/stop-recording")
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/recorder/download-recording", timeout=30) as r:
            lines = r.read().decode("utf-8").splitlines()
        requests = []
        for line in lines:
            entry = json.loads(line)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", errors="replace")
            requests.append(dict(urllib.parse.parse_qsl(body, keep_blank_values=True)))
        return requests

    def state(self) -> dict[str, Any]:
        """moto's own view of everything (for example what SES recorded as sent)."""
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=30) as response:
            data: dict[str, Any] = json.load(response)
            return data

    def cpu_seconds(self) -> float:
        """CPU time a spawned server process has used so far (0 in-process, for others, or without /proc)."""
        if self._process is None:
            return 0.0
        try:
            with open(f"/proc/{self._process.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # utime and stime are fields 14 and 15 of the file, 12 and 13 after the ")" that ends the name.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _script(action: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), action],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_with_script(port: int | str, env: dict[str, str] | None = None) -> MotoServer:
    """Start (or reuse one it started itself) a server on `port` through moto-server.sh.

    Raises PortTakenError when another process holds the port: the script never adopts it.
    """
    port_env = {**(env or {}), "MOTO_PORT": str(port)}
    started = _script("start", port_env)
    if started.returncode == PORT_TAKEN:
        raise PortTakenError(started.stderr.strip())
    if started.returncode != 0:
        raise RuntimeError(f"moto-server.sh start failed ({started.returncode}):\n{started.stderr}")
    return MotoServer(
        endpoint=_script("host-url", port_env).stdout.strip(),
        container_endpoint=_script("url", port_env).stdout.strip(),
    )


def stop_with_script(server: MotoServer, env: dict[str, str] | None = None) -> None:
    """Stop a server that moto-server.sh started (the script leaves any other alone)."""
    port = server.endpoint.rsplit(":", 1)[1]
    _script("stop", {**(env or {}), "MOTO_PORT": port})


def for_local_tests(preferred_port: int | str, env: dict[str, str] | None = None) -> MotoServer:
    """The local tests' server: on `preferred_port` if it is free or ours, else on a free port.

    The tests reset the server before each test, so a server someone else started (a demo, another
    checkout, another test run's) is never used: that would wipe a world the tests did not make.
    """
    try:
        return start_with_script(preferred_port, env)
    except PortTakenError as taken:
        port = free_port()
        print(f"{taken}\nThe local tests use port {port} instead.", file=sys.stderr)
        return start_with_script(port, env)


def serve(hosts: list[str], port: int) -> None:
    """moto's server app on each of `hosts` (one process, one state), until SIGTERM or SIGINT.

    moto_server listens on one address. The local loop needs two: the loopback for the host's clients and
    the container bridge's gateway for the Lambda containers, and nothing else (never 0.0.0.0). An address
    other than the first that cannot be bound (not on this machine) is skipped with a warning."""
    import signal

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import BaseWSGIServer, make_server

    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    servers: list[BaseWSGIServer] = []
    for n, host in enumerate(hosts):
        # werkzeug exits the process when it cannot bind: try the address first.
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
        except OSError as exc:
            if n == 0:
                raise
            print(f"moto_server: not listening on {host}:{port}: {exc}", file=sys.stderr, flush=True)
            continue
        servers.append(make_server(host, port, app, threaded=True))
    print(
        f"moto_server: listening on {', '.join(f'{s.host}:{port}' for s in servers)}",
        file=sys.stderr,
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    while not stopped.wait(0.2):
        pass
    for server in servers:
        server.shutdown()
        server.server_close()


def _main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="moto's server, with DynamoDB atomic per request")
    parser.add_argument("-H", "--host", action="append", help="an address to listen on (repeatable)")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    with serialise_dynamodb():
        serve(args.host or ["127.0.0.1"], args.port)


if __name__ == "__main__":  # `spawn()`'s server and moto-server.sh's: moto's app, DynamoDB atomic per request
    _main(sys.argv[1:])
