"""Writes the latest `make bench` run into docs/performance.md, so the figures there are measured, not copied.

Only the part between the two markers is rewritten: a header saying which machine, when and which commit,
then the run's table. The notes around it (how each figure is measured, earlier runs) are kept.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.table import render_markdown

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


@dataclass(frozen=True)
class RunInfo:
    """Where and when a run was measured: enough to tell two runs' figures apart."""

    when: datetime
    machine: str
    commit: str


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return "memory unknown"


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except OSError:
        return platform.system()


def _version(package: str) -> str:
    try:
        return f"{package} {metadata.version(package)}"
    except metadata.PackageNotFoundError:
        return f"no {package}"


def describe_machine() -> str:
    """The machine as the figures depend on it: cores, memory, OS, CPU kind, Python and moto."""
    return ", ".join(
        [
            f"{os.cpu_count()} cores",
            _memory_gib(),
            _os_name(),
            platform.machine(),
            f"{platform.python_implementation()} {platform.python_version()}",
            _version("moto"),
        ]
    )


def current_commit(repo: Path) -> str:
    """The checked-out commit, marked when the tree has changes the commit does not hold."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def this_run(repo: Path) -> RunInfo:
    return RunInfo(when=datetime.now(UTC), machine=describe_machine(), commit=current_commit(repo))


def render_section(rows: Iterable[dict[str, Any]], info: RunInfo) -> str:
    """The generated section, markers included."""
    return "\n".join(
        [
            BEGIN,
            "## Latest run",
            "",
            f"Written by `make bench` on {info.when:%Y-%m-%d %H:%M} UTC, on {info.machine}, "
            f"at commit {info.commit}.",
            "",
            render_markdown(rows),
            END,
        ]
    )


def replace_section(document: str, section: str, begin: str = BEGIN, end: str = END) -> str:
    """The document with its generated section (from `begin` to `end`) replaced; ValueError when the markers
    are not there once."""
    if document.count(begin) != 1 or document.count(end) != 1 or document.index(begin) > document.index(end):
        raise ValueError(f"expected one {begin} followed by one {end}")
    head, rest = document.split(begin)
    tail = rest.split(end)[1]
    return head + section + tail


def write(rows: Iterable[dict[str, Any]], info: RunInfo, path: Path = DOC) -> Path:
    """Puts this run's header and table into the document at `path` (made with the markers if missing)."""
    section = render_section(rows, info)
    if path.exists():
        document = replace_section(path.read_text(encoding="utf-8"), section)
    else:
        document = f"# Performance\n\n{section}\n"
    path.write_text(document, encoding="utf-8")
    return path
