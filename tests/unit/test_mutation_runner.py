"""scripts/mutation/run.py: what it writes into the ratchet, and the conftest it stages for mutmut."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scripts.mutation import run

RATCHET = """\
[modules]
"a.py" = { tests = ["t.py"], score = 50.0 }
"b.py" = { tests = ["t.py"] }

# --- equivalent mutants ---
"""


def test_recording_scores_rewrites_only_the_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ratchet = tmp_path / "ratchet.toml"
    ratchet.write_text(RATCHET)
    monkeypatch.setattr(run, "RATCHET", ratchet)
    run.write_scores({"a.py": 75.5, "b.py": 100.0})
    recorded = RATCHET.replace("50.0", "75.5").replace('["t.py"] }\n', '["t.py"], score = 100.0 }\n')
    assert ratchet.read_text() == recorded  # the blank line after the last module stays


def test_the_staged_conftest_points_a_log_handler_at_an_open_stream(tmp_path: Path) -> None:
    """mutmut runs pytest several times in one process: a handler made in an earlier run (the Powertools
    logger's) holds that run's captured stdout, closed since."""
    (tmp_path / "conftest.py").write_text(run.HYPOTHESIS_PROFILE)
    (tmp_path / "test_closed.py").write_text(
        "import io, logging, tempfile\n"
        "closed = tempfile.TemporaryFile('w')  # as pytest's captured stdout is\n"
        "closed.close()\n"
        "handler = logging.StreamHandler(closed)\n"
        "logging.getLogger('made.in.an.earlier.run').addHandler(handler)\n"
        "\n"
        "def test_a_handler_can_be_pointed_elsewhere():\n"
        "    handler.setStream(io.StringIO())  # flushes the stream it had\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
