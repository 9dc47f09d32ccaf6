"""`make deploy` asks "Deploy this changeset?" only when a person can answer: stdin and stdout are terminals
and CI is unset. Anywhere else (CI, a script, a pipe) SAM's prompt would read no answer and abort, so the
script passes --no-confirm-changeset. The script runs for real, with a stub `sam` first on PATH."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "deploy.sh"


@pytest.fixture
def stub_path(tmp_path: Path) -> Path:
    """A directory holding a `sam` that writes its arguments, one a line, to sam.args."""
    stub = tmp_path / "bin" / "sam"
    stub.parent.mkdir()
    stub.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {tmp_path / "sam.args"}\n')
    stub.chmod(0o755)
    return tmp_path


def _environment(stub_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return {**env, "PATH": f"{stub_path / 'bin'}:{env['PATH']}", **extra}


def _sam_arguments(stub_path: Path) -> list[str]:
    return (stub_path / "sam.args").read_text().splitlines()


def _run(stub_path: Path, *args: str, **env: str) -> list[str]:
    subprocess.run(
        [str(SCRIPT), "dev", "SenderEmail=reports@example.com", *args],
        env=_environment(stub_path, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        check=True,
        timeout=60,
    )
    return _sam_arguments(stub_path)


def test_without_a_terminal_the_changeset_is_not_confirmed(stub_path: Path) -> None:
    arguments = _run(stub_path)
    assert arguments[:3] == ["deploy", "--config-env", "dev"]
    assert "--no-confirm-changeset" in arguments
    merged = arguments[arguments.index("--parameter-overrides") + 1]
    assert "SenderEmail=reports@example.com" in merged and "JanitorDryRun=true" in merged


def test_in_ci_the_changeset_is_not_confirmed_even_on_a_terminal(stub_path: Path) -> None:
    assert "--no-confirm-changeset" in _run_on_a_terminal(stub_path, CI="true")


def test_a_person_at_a_terminal_is_asked(stub_path: Path) -> None:
    assert "--no-confirm-changeset" not in _run_on_a_terminal(stub_path)


def test_an_explicit_choice_is_kept(stub_path: Path) -> None:
    arguments = _run(stub_path, "--", "--confirm-changeset")
    assert "--confirm-changeset" in arguments and "--no-confirm-changeset" not in arguments


def _run_on_a_terminal(stub_path: Path, **env: str) -> list[str]:
    """The script with a pseudo-terminal as its stdin and stdout, as in a person's shell."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [str(SCRIPT), "dev", "SenderEmail=reports@example.com"],
            env=_environment(stub_path, **env),
            stdin=follower,
            stdout=follower,
            stderr=subprocess.PIPE,
        )
        os.close(follower)
        while True:  # drain the terminal, or the script blocks on a full one
            try:
                if not os.read(leader, 4096):
                    break
            except OSError:
                break
        assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return _sam_arguments(stub_path)
