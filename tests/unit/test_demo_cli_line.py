"""The demo's closing CLI line: the verdicts of the sam local run, and an exit status read for what it is."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from scripts import demo
from scripts.pipeline.moto_server import MotoServer
from scripts.pipeline.world import ALLOWED_ORIGIN


def _run_with_exit(code: int, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Any]]:
    seen: dict[str, Any] = {}

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.update(argv=argv, env=kwargs["env"])
        table = "BUCKET  SEVERITY\ngk-demo-bad  HIGH\n"
        return subprocess.CompletedProcess(argv, code, stdout=table, stderr="")

    monkeypatch.setattr(demo.subprocess, "run", fake_run)
    return demo.cli_run(MotoServer("http://127.0.0.1:5055"), *demo.CLI_AUDIT), seen


def test_exit_1_is_the_fail_on_gate_doing_its_job(monkeypatch: pytest.MonkeyPatch) -> None:
    line, _ = _run_with_exit(1, monkeypatch)
    assert "(exit 1: a bucket is HIGH or worse, so --fail-on HIGH fails the step, as a CI gate does)" in line


def test_the_cli_audits_with_the_auditors_allowlist_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    line, seen = _run_with_exit(0, monkeypatch)
    assert "(exit 0: nothing at or above --fail-on)" in line
    argv = seen["argv"]
    assert argv[argv.index("--allowed-origins") + 1] == ALLOWED_ORIGIN
    assert "--local" in argv
    assert seen["env"]["MOTO_PORT"] == "5055"
    assert "ALLOWED_ORIGINS" in demo.CLI_NOTE
    assert "insecure-origin" in demo.CLI_NOTE
