"""The local loop's scripts, run with stubs: the Python the set-up takes or installs, where moto listens."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from scripts.pipeline.moto_server import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "scripts" / "local"


def test_no_log_line_is_cut_by_a_character_count() -> None:
    """A message cut at N characters ends mid-word ("…no su"): a reader cannot tell what failed."""
    cut_logs = [
        f"{script.name}:{number}"
        for script in sorted(LOCAL.glob("*.sh"))
        for number, line in enumerate(script.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\blog\b", line) and re.search(r"\bcut -c", line)
    ]
    assert cut_logs == []


# python.sh, on a PATH that has no python3.13: the tools it needs, a stub uv, never a download.
STUB_UV = """#!{bash}
echo "$*" >> "{log}"
case "$*" in
  --version) echo "uv 0.0.0-stub" ;;
  "python install 3.13")
    [[ -n ${{STUB_UV_FAIL:-}} ]] && {{ echo "error: failed to fetch CPython" >&2; exit 2; }}
    bin=$UV_PYTHON_INSTALL_DIR/cpython-3.13.1-linux-x86_64-gnu/bin
    mkdir -p "$bin"
    printf '#!/bin/sh\\nexec "{python}" "$@"\\n' > "$bin/python3.13"
    chmod +x "$bin/python3.13" ;;
  *) exit 64 ;;
esac
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout with python.sh and the pinned requirements only, so installs land in tmp_path."""
    local = tmp_path / "repo" / "scripts" / "local"
    local.mkdir(parents=True)
    shutil.copy(LOCAL / "python.sh", local / "python.sh")
    shutil.copy(ROOT / "requirements-dev.txt", tmp_path / "repo" / "requirements-dev.txt")
    return tmp_path / "repo"


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A PATH directory with the shell tools and nothing else: no python3.13, no python3, no uv, no pyenv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "sed", "mkdir", "chmod", "cat"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return bin_dir


def _real_python() -> str:
    return os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)


def _run(checkout: Path, tools: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "local" / "python.sh")],
        env={
            "PATH": str(tools),
            "HOME": str(tmp_path / "home"),
            "PYTHON313_DIRS": str(tmp_path / "none"),
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _stub_uv(tools: Path, tmp_path: Path) -> Path:
    log = tmp_path / "uv.log"
    _executable(tools / "uv", STUB_UV.format(bash=shutil.which("bash"), log=log, python=_real_python()))
    return log


@pytest.mark.skipif(sys.version_info[:2] != (3, 13), reason="the stub interpreter wraps this 3.13")
def test_a_missing_python313_is_installed_with_uv_into_the_checkout(
    checkout: Path, tools: Path, tmp_path: Path
) -> None:
    uv_log = _stub_uv(tools, tmp_path)

    first = _run(checkout, tools, tmp_path)

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == _real_python()
    assert "python install 3.13" in uv_log.read_text(encoding="utf-8").splitlines()
    assert (
        checkout / ".local" / "python" / "cpython-3.13.1-linux-x86_64-gnu" / "bin" / "python3.13"
    ).exists()
    assert "installing CPython 3.13" in first.stderr

    # The second run finds the installed one and does not ask uv again.
    uv_log.unlink()
    second = _run(checkout, tools, tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == _real_python()
    assert not uv_log.exists()


@pytest.mark.skipif(sys.version_info[:2] != (3, 13), reason="the stub interpreter wraps this 3.13")
def test_a_working_python313_on_path_is_used_without_uv(checkout: Path, tools: Path, tmp_path: Path) -> None:
    uv_log = _stub_uv(tools, tmp_path)
    _executable(tools / "python3.13", f'#!/bin/sh\nexec "{_real_python()}" "$@"\n')

    done = _run(checkout, tools, tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == _real_python()
    assert not uv_log.exists()


def test_when_uv_cannot_install_the_message_says_what_to_install(
    checkout: Path, tools: Path, tmp_path: Path
) -> None:
    _stub_uv(tools, tmp_path)

    done = _run(checkout, tools, tmp_path, STUB_UV_FAIL="1")

    assert done.returncode == 1
    assert done.stdout == ""
    assert "uv python install 3.13 failed" in done.stderr
    assert "Install python3.13 yourself (uv python install 3.13, or pyenv install 3.13)" in done.stderr


def test_without_uv_or_python3_the_message_says_what_to_install(
    checkout: Path, tools: Path, tmp_path: Path
) -> None:
    done = _run(checkout, tools, tmp_path)

    assert done.returncode == 1
    assert "no uv, and no python3 to install it with" in done.stderr
    assert "install uv (or a python3 with its venv module, e.g. Debian's python3-venv)" in done.stderr
    assert "apt-get install python3.13" not in done.stderr  # Debian 12 has no such package


def test_a_python3_without_venv_gives_the_same_clear_message(
    checkout: Path, tools: Path, tmp_path: Path
) -> None:
    _executable(tools / "python3", "#!/bin/sh\necho 'No module named venv' >&2\nexit 1\n")

    done = _run(checkout, tools, tmp_path)

    assert done.returncode == 1
    assert "could not install uv with" in done.stderr
    assert "set PYTHON313=/path/to/python3.13" in done.stderr


ALL = "0.0.0.0"  # noqa: S104 - the override a user may set, compared, never bound here


# moto-server.sh: the embedded AWS listens on the loopback and on the address the containers use, no other.
def _moto_script(action: str, **env: str) -> str:
    done = subprocess.run(
        [str(LOCAL / "moto-server.sh"), action],
        env={**os.environ, "MOTO_PORT": "5399", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("env", "binds"),
    [
        ({"MOTO_CONTAINER_HOST": "172.17.0.1"}, "127.0.0.1 172.17.0.1"),
        ({"MOTO_CONTAINER_HOST": "127.0.0.1"}, "127.0.0.1"),
        # MOTO_BIND overrides (Docker Desktop); it is only data here, nothing binds to it.
        ({"MOTO_CONTAINER_HOST": "172.17.0.1", "MOTO_BIND": ALL}, ALL),
    ],
)
def test_moto_listens_on_the_loopback_and_the_container_host_only(env: dict[str, str], binds: str) -> None:
    assert _moto_script("binds", **env) == binds
    container_host = _moto_script("url", **env).removeprefix("http://").rsplit(":", 1)[0]
    assert container_host in binds.split() or binds == ALL, "the containers' endpoint is one it listens on"


def _answers(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/moto-api/", timeout=2):
            return True
    except OSError:
        return False


def _bindable(host: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, 0))
        except OSError:
            return False
    return True


@pytest.mark.skipif(not _bindable("127.0.0.2"), reason="127.0.0.2 is not a loopback address here")
def test_one_moto_process_serves_one_state_on_each_address_it_is_given(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "moto.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "scripts.pipeline.moto_server", "-H", "127.0.0.1", "-H", "127.0.0.2",
             "-H", "192.0.2.254", "-p", str(port)],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (_answers("127.0.0.1", port) and _answers("127.0.0.2", port)):
            assert time.monotonic() < deadline and server.poll() is None, log.read_text()
            time.sleep(0.1)
        via_loopback, via_other = (
            boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                         aws_access_key_id="testing", aws_secret_access_key="testing")
            for host in ("127.0.0.1", "127.0.0.2")
        )  # fmt: skip
        via_loopback.create_bucket(Bucket="one-state")
        assert [b["Name"] for b in via_other.list_buckets()["Buckets"]] == ["one-state"]
        assert not _answers("127.0.0.3", port)  # an address it was not given
        assert "not listening on 192.0.2.254" in log.read_text()  # not this machine's: skipped, said so
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0


def _left_running(tmp_path: Path, moto: str, engine: str) -> str:
    local = tmp_path / "local"
    local.mkdir()
    shutil.copy(LOCAL / "left-running.sh", local / "left-running.sh")
    _executable(local / "moto-server.sh", f"#!/bin/sh\necho '{moto}'\n")
    _executable(local / "docker-engine.sh", f"#!/bin/sh\necho '{engine}'\n")
    done = subprocess.run(
        ["bash", str(local / "left-running.sh")], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_what_is_left_running_is_named_with_how_to_stop_it(tmp_path: Path) -> None:
    said = _left_running(
        tmp_path, "moto server running (pid 7, port 5055)", "project dockerd running (pid 8, unix:///x.sock)"
    )

    assert "moto server running (pid 7, port 5055), on the loopback and the container bridge only" in said
    assert "project dockerd running (pid 8, unix:///x.sock)" in said
    assert "`make stop` stops them" in said


def test_an_ambient_engine_is_not_ours_to_mention(tmp_path: Path) -> None:
    said = _left_running(tmp_path, "no moto server on port 5055", "ambient Docker engine (default socket)")

    assert said.strip() == "Nothing of the local loop is left running."


def test_the_development_guide_says_which_noise_is_not_ours() -> None:
    guide = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    section = " ".join(guide.split("## Output that is not ours", 1)[1].split("\n## ", 1)[0].split())
    assert "I/O operation on closed file" in section and "SAM CLI's own" in section
    assert "PytestUnraisableExceptionWarning" in section
