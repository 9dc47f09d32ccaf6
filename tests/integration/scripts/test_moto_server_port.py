"""The local tests never adopt a moto server they did not start: they reset it, and its world is not ours."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scripts.pipeline.moto_server import PortTakenError, for_local_tests, start_with_script, stop_with_script

# `url` would look for a container engine; these tests need only the host side.
NO_ENGINE = {"MOTO_CONTAINER_HOST": "127.0.0.1"}


class ForeignMoto(BaseHTTPRequestHandler):
    """Answers /moto-api/ like a moto server someone else runs, and records every request it gets."""

    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path}")
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        self.seen.append(f"POST {self.path}")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def foreign_server() -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []
    handler = type("Recorder", (ForeignMoto,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_script_refuses_a_moto_server_it_did_not_start(foreign_server: tuple[int, list[str]]) -> None:
    port, seen = foreign_server
    with pytest.raises(PortTakenError, match=f"port {port} is taken by a process this script did not start"):
        start_with_script(port, NO_ENGINE)
    assert not [request for request in seen if request.startswith("POST")]


def test_the_script_refuses_a_port_held_by_anything_else() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with pytest.raises(PortTakenError):
            start_with_script(listener.getsockname()[1], NO_ENGINE)


def test_the_local_tests_move_to_a_free_port_and_leave_the_foreign_world_alone(
    foreign_server: tuple[int, list[str]],
) -> None:
    port, seen = foreign_server
    server = for_local_tests(port, NO_ENGINE)
    try:
        assert not server.endpoint.endswith(f":{port}")
        server.reset()  # what the local tests do before each test
        assert server.state() is not None
        # A second session on the same preferred port reuses only a server the script itself started.
        assert for_local_tests(server.endpoint.rsplit(":", 1)[1], NO_ENGINE).endpoint == server.endpoint
    finally:
        stop_with_script(server, NO_ENGINE)
    assert not [request for request in seen if request.startswith("POST")]
