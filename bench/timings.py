"""`make timings`: times the commands a newcomer runs and writes the figures into docs/performance.md.

The docs state no timing by hand: each figure is one row of the section between the timings markers, with
when, on which machine (its cores and its load just before the step) and at which commit it was measured.
`STEPS=build,demo` times only those steps; the other rows keep their own, earlier, measurement.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.performance_doc import DOC, current_commit, replace_section

BEGIN = "<!-- timings:begin -->"
END = "<!-- timings:end -->"
REPO_ROOT = Path(__file__).resolve().parent.parent
HEADER = "| step | what is timed | seconds | measured (UTC) | machine | commit |"
# What the local targets run under (the Makefile's LOCAL_AWS and engine): the demo script alone needs it.
LOCAL_AWS = (
    "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing "
    "AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1"
)


@dataclass(frozen=True)
class Step:
    name: str
    what: str
    command: str  # run by bash from the repository's root
    prepare: str = ""  # run untimed first, so that the step is timed as described


STEPS = (
    Step("build", "`make build` when nothing changed (a no-op build)", "make build", prepare="make build"),
    Step(
        "demo",
        "`make demo`, a second run: the venv, engine, image and build are reused",
        "make demo",
        prepare="make local-ready",
    ),
    Step(
        "demo-script",
        "the demo script alone (`python -m scripts.demo`, what `make demo` runs after its set-up)",
        f'eval "$(scripts/local/docker-engine.sh env)" && {LOCAL_AWS} .venv/bin/python -m scripts.demo',
        prepare="make local-ready",
    ),
    Step(
        "test-fast",
        "`make test`'s first step: unit, integration, IAM and soak tests (`make test-fast`)",
        "make test-fast",
    ),
    Step(
        "test-local", "`make test`'s second step: the local SAM loop (`make test-local`)", "make test-local"
    ),
)


@dataclass(frozen=True)
class Timing:
    step: Step
    seconds: float
    when: datetime
    machine: str
    commit: str
    ok: bool

    def row(self) -> str:
        seconds = f"{self.seconds:.0f}" if self.ok else f"{self.seconds:.0f} (failed)"
        cells = [
            self.step.name,
            self.step.what,
            seconds,
            f"{self.when:%Y-%m-%d %H:%M}",
            self.machine,
            self.commit,
        ]
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def machine_now() -> str:
    """Cores and load: what a wall-clock figure depends on most on a shared machine."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load {one:.1f} (5 min: {five:.1f})"


def measure(
    step: Step,
    run: Callable[[str], int],
    clock: Callable[[], float] = time.monotonic,
    machine: Callable[[], str] = machine_now,
) -> Timing:
    """Times one step (after its untimed preparation): the machine is described just before it starts."""
    if step.prepare and run(step.prepare) != 0:
        return Timing(step, 0.0, datetime.now(UTC), machine(), current_commit(REPO_ROOT), False)
    described, started = machine(), clock()
    status = run(step.command)
    return Timing(
        step, clock() - started, datetime.now(UTC), described, current_commit(REPO_ROOT), status == 0
    )


def run_in_repo(command: str) -> int:
    print(f"timings: $ {command}", file=sys.stderr, flush=True)
    return subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, check=False).returncode


def rows_of(section: str) -> dict[str, str]:
    """The step rows of a timings section already in the document, by step name."""
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and line != HEADER and not line.startswith("|---"):
            rows[line.split("|")[1].strip()] = line
    return rows


def render_section(rows: Mapping[str, str]) -> str:
    ordered = [rows[step.name] for step in STEPS if step.name in rows]
    return "\n".join(
        [
            BEGIN,
            "## Timings of the everyday commands",
            "",
            "Written by `make timings` (`STEPS=` a comma-separated subset of "
            + ", ".join(f"`{s.name}`" for s in STEPS)
            + "): each row is one measurement, wall-clock, with its own date, machine and commit.",
            "",
            *(
                [HEADER, "|---|---|---|---|---|---|", *ordered]
                if ordered
                else ["No step timed yet: run `make timings`."]
            ),
            END,
        ]
    )


def write(timings: Sequence[Timing], path: Path = DOC) -> Path:
    """Puts these timings into the document's timings section, keeping the rows of steps not timed now."""
    document = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    if BEGIN in document:
        old = document.split(BEGIN, 1)[1].split(END, 1)[0]
        rows = rows_of(old) | {t.step.name: t.row() for t in timings}
        document = replace_section(document, render_section(rows), BEGIN, END)
    else:
        rows = {t.step.name: t.row() for t in timings}
        document = document.rstrip("\n") + "\n\n" + render_section(rows) + "\n"
    path.write_text(document, encoding="utf-8")
    return path


def chosen(names: str) -> list[Step]:
    """The steps `STEPS=` names, in the table's order; all of them when it is empty."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {s.name for s in STEPS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(f"timings: unknown step(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [s for s in STEPS if not wanted or s.name in wanted]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="", help="comma-separated steps (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, time nothing")
    args = parser.parse_args(argv)
    steps = chosen(args.steps)
    if args.dry_run:
        for step in steps:
            prepared = f"(after {step.prepare!r}) " if step.prepare else ""
            print(f"{step.name}: {prepared}{shlex.quote(step.command)}")
        return 0
    timings = [measure(step, run_in_repo) for step in steps]
    path = write(timings)
    for timing in timings:
        print(f"timings: {timing.step.name}: {timing.seconds:.0f} s{'' if timing.ok else ' (failed)'}")
    print(f"timings: wrote {path.relative_to(REPO_ROOT)}")
    return 0 if all(t.ok for t in timings) else 1


if __name__ == "__main__":
    sys.exit(main())
