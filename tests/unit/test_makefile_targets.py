"""The Makefile's housekeeping targets do what `make help` and the docs say, read through `make -n`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*targets: str) -> str:
    """What make would run for the targets, run nothing (recipes are printed, `@` lines included)."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_clean_removes_everything_the_set_up_leaves_behind_and_says_so() -> None:
    recipe = dry_run("clean")

    for left_behind in (
        ".aws-sam",
        "out",
        ".local",
        ".venv",
        "tests/oracle/node_modules",
        "tests/iam/node_modules",
    ):
        assert f" {left_behind}" in recipe, f"make clean leaves {left_behind}"
    assert "removed" in recipe
    assert "moto-server.sh stop" in recipe, "make clean stops what runs before removing its state"


def test_clean_build_removes_build_output_only() -> None:
    recipe = dry_run("clean-build")

    assert ".aws-sam" in recipe
    for kept in (".venv", "node_modules", ".local"):
        assert kept not in recipe


@pytest.mark.parametrize("target", ["demo", "test"])
def test_demo_and_test_end_by_saying_what_they_left_running(target: str) -> None:
    recipe = dry_run(target)

    last_step = recipe.strip().splitlines()[-1]
    assert "scripts/local/left-running.sh" in last_step
    assert "exit $status" in last_step, "the run's own exit status is kept"
