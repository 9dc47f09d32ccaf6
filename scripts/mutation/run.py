"""`make mutate`: mutation testing (mutmut) of the decision modules, with a per-file ratchet.

mutmut names a mutated module after its file path (functions/eip_janitor/eip_janitor/decisions.py becomes
`functions.eip_janitor.eip_janitor.decisions`), while the tests import `eip_janitor.decisions`: run from the
repository root, every mutant would silently run the original code. So each module is mutated in a staging
directory of its own (.local/mutation/<module>/), laid out the way mutmut expects:

    src/<every package of the layer and the functions>   the code, as the tests import it
    tests/...                                            the tests; only the ones mapped to the module run
    pyproject.toml                                       generated: mutmut's and pytest's settings

tests/mutation/ratchet.toml lists the modules, the tests that cover each, the score each has reached
(killed / mutants that change behaviour, in %) and the equivalent mutants. A score below the stored one fails
the run; a higher one is written back with --update. docs/testing.md explains the workflow.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RATCHET = ROOT / "tests" / "mutation" / "ratchet.toml"
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
WORK = ROOT / ".local" / "mutation"
TOOL_VENV = WORK / "venv"
MUTMUT = TOOL_VENV / "bin" / "mutmut"

# mutmut's statuses: a mutant is detected when a test failed on it, or it made the tests hang or crash.
DETECTED = frozenset({"killed", "timeout", "segfault", "caught by type check"})
UNFINISHED = frozenset({"not checked", "check was interrupted by user"})
# Files whose change can move every score: a change-only run then runs every module.
RUNNER_FILES = ("scripts/mutation/run.py", "scripts/mutation/requirements.txt", "tests/conftest.py")


@dataclass(frozen=True)
class Module:
    source: str  # repository path of the file to mutate
    tests: tuple[str, ...]  # repository paths of the test files that cover it
    score: float | None  # the stored ratchet, in %
    sample: int | None = None  # mutate only this many mutants, drawn with `seed` (a module too slow in full)
    seed: int = 0

    @property
    def name(self) -> str:
        """The module's import name, e.g. eip_janitor.decisions."""
        return staged_path(self.source).removeprefix("src/").removesuffix(".py").replace("/", ".")


@dataclass(frozen=True)
class Equivalent:
    mutant: str
    line: str
    reason: str


@dataclass
class Outcome:
    module: Module
    statuses: dict[str, str] = field(default_factory=dict)
    diffs: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    total: int = 0  # mutants of the module; more than len(statuses) when sampled

    @property
    def detected(self) -> int:
        return sum(status in DETECTED for status in self.statuses.values())

    @property
    def counted(self) -> int:
        return len(self.statuses) - len(self.equivalent)

    @property
    def score(self) -> float:
        # Floored to one decimal, so a stored score is never above what the same run reaches again.
        return int(1000 * self.detected / self.counted) / 10 if self.counted else 0.0

    @property
    def survivors(self) -> list[str]:
        return sorted(
            name
            for name, status in self.statuses.items()
            if status not in DETECTED and name not in self.equivalent
        )


# --- the ratchet file ------------------------------------------------------------------------------------


def load_ratchet(text: str) -> tuple[list[Module], list[Equivalent]]:
    data = tomllib.loads(text)
    modules = [
        Module(source, tuple(entry["tests"]), entry.get("score"), entry.get("sample"), entry.get("seed", 0))
        for source, entry in data.get("modules", {}).items()
    ]
    equivalents = [
        Equivalent(e["mutant"], e.get("line", ""), e["reason"]) for e in data.get("equivalent", [])
    ]
    return modules, equivalents


def write_scores(scores: dict[str, float]) -> None:
    """Rewrite only the `score = N` of each module's one-line entry, so the file's comments stay."""
    text = RATCHET.read_text()
    for source, score in scores.items():
        pattern = re.compile(
            rf'^("{re.escape(source)}"\s*=\s*\{{.*?)(,\s*score\s*=\s*[0-9.]+)?(\s*\}})\s*$', re.M
        )
        text, count = pattern.subn(rf"\g<1>, score = {score}\g<3>", text)
        if count != 1:
            raise SystemExit(f"mutate: cannot find the one-line entry of {source} in {RATCHET.name}")
    RATCHET.write_text(text)


# --- where the code lives ---------------------------------------------------------------------------------


def source_roots() -> list[str]:
    """The folders the tests import packages from (pytest's pythonpath, less the repository root)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [p for p in pyproject["tool"]["pytest"]["ini_options"]["pythonpath"] if p not in {".", ""}]


def staged_path(source: str) -> str:
    for root in source_roots():
        if source.startswith(root.rstrip("/") + "/"):
            return "src/" + source[len(root.rstrip("/")) + 1 :]
    raise SystemExit(f"mutate: {source} is in none of pytest's pythonpath folders")


def git(*args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else None


def changed_modules(modules: list[Module], ref: str) -> list[Module]:
    """The modules whose file, tests or ratchet entry differ between `ref` and the working tree."""
    if git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is None:
        print(
            f"mutate: no commit {ref!r} to compare with (a fresh clone with one commit?): every module runs"
        )
        return modules
    diff = git("diff", "--name-only", ref, "--") or ""
    changed = set(diff.split())
    changed |= set((git("ls-files", "--others", "--exclude-standard") or "").split())
    if changed & set(RUNNER_FILES):
        print("mutate: the runner itself changed: every module runs")
        return modules
    old_text = git("show", f"{ref}:{RATCHET.relative_to(ROOT)}")
    old_modules, old_equivalents = load_ratchet(old_text) if old_text else ([], [])
    old = {m.source: m for m in old_modules}
    _, equivalents = load_ratchet(RATCHET.read_text())
    moved_equivalents = {e.mutant for e in set(equivalents) ^ set(old_equivalents)}
    selected = []
    for module in modules:
        if (
            module.source in changed
            or changed & set(module.tests)
            or old.get(module.source) != module
            or any(name.startswith(module.name + ".") for name in moved_equivalents)
        ):
            selected.append(module)
    return selected


# --- the tool's venv --------------------------------------------------------------------------------------


def ensure_tool_venv() -> None:
    """mutmut in .local/mutation/venv, which also sees .venv's packages (mutmut's click wins over sam's)."""
    stamp = TOOL_VENV / ".requirements.sha256"
    want = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()
    if MUTMUT.exists() and stamp.exists() and stamp.read_text() == want:
        return
    print("mutate: installing mutmut into .local/mutation/venv", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(TOOL_VENV)], check=True)
    site = next((TOOL_VENV / "lib").glob("python3*/site-packages"))
    (site / "project-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [str(TOOL_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "-r", str(REQUIREMENTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit("mutate: could not install mutmut")
    stamp.write_text(want)


# --- one module -------------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | float):
        return str(value)
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


# The staged root conftest. The same Hypothesis examples for every mutant and every run (derandomized, no
# example database), and no deadline, which mutmut's tracing and a busy machine would trip: a score must not
# move unless the code or the tests did. Each property test also runs at most MAX_EXAMPLES examples: a
# surviving mutant runs every test that reaches it, and a few hundred examples per test per survivor would
# make the run too slow to use before a submission. (The cap replaces the settings object that
# hypothesis.given() keeps on the test, because an explicit @settings(max_examples=...) wins over a profile.)
MAX_EXAMPLES = 100
#
# mutmut runs several pytest sessions in one process (the stats run, the clean run, then each mutant's run in
# a fork of it), and each session closes the stdout capture it opened. A log handler made during an earlier
# session, such as the one Powertools' Logger makes at import and keeps, would then write to a closed stream:
# the conftest points such handlers at the current session's stdout when the session starts.
HYPOTHESIS_PROFILE = f"""\
import logging
import sys

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "mutation", derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile("mutation")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        test = getattr(item, "obj", None)
        chosen = getattr(test, "_hypothesis_internal_use_settings", None)
        if chosen is not None and chosen.max_examples > {MAX_EXAMPLES}:
            test._hypothesis_internal_use_settings = settings(chosen, max_examples={MAX_EXAMPLES})


def pytest_sessionstart(session: pytest.Session) -> None:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for handler in (h for each in loggers for h in getattr(each, "handlers", [])):
        if getattr(getattr(handler, "stream", None), "closed", False):
            handler.stream = sys.stdout
"""


def stage(module: Module) -> Path:
    """A fresh staging directory for `module`: the packages under src/, its tests, the generated config."""
    here = WORK / module.name.replace(".", "-")
    shutil.rmtree(here, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for root in source_roots():
        # The packages, and the folders they read beside them (the sender's templates/).
        for folder in sorted(p for p in (ROOT / root).iterdir() if p.is_dir()):
            shutil.copytree(folder, here / "src" / folder.name, ignore=skip, dirs_exist_ok=True)
    shutil.copytree(ROOT / "events", here / "events")
    # Tests import helpers from scripts/ (the pipeline's world builders, the org fixtures).
    shutil.copytree(ROOT / "scripts", here / "scripts", ignore=skip)
    # The whole tests/ tree, since tests import helpers and other tests' fixtures; only the module's own test
    # files run (mutmut's test selection below). The oracle's node packages are linked, not copied.
    shutil.copytree(
        ROOT / "tests", here / "tests", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    )
    oracle_packages = ROOT / "tests" / "oracle" / "node_modules"
    if oracle_packages.is_dir():
        (here / "tests" / "oracle" / "node_modules").symlink_to(oracle_packages.resolve())
    pytest_ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    pytest_settings = {
        "pythonpath": ["src", "."],
        "testpaths": ["tests"],
        "addopts": pytest_ini.get("addopts", ""),
        "markers": pytest_ini.get("markers", []),
        "filterwarnings": pytest_ini.get("filterwarnings", []),
    }
    mutmut_settings = {
        "source_paths": ["src"],
        "only_mutate": [staged_path(module.source)],
        "pytest_add_cli_args_test_selection": list(module.tests),
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "no:xdist"],
        # mutmut copies only tests/ and its own config files into mutants/ by itself.
        "also_copy": ["conftest.py", "events", "scripts"],
        "use_git_change_detection": False,
        "max_stack_depth": -1,
    }
    (here / "conftest.py").write_text(HYPOTHESIS_PROFILE)
    lines = ["# Generated by scripts/mutation/run.py for one run; edit tests/mutation/ratchet.toml instead."]
    for table, values in (("tool.mutmut", mutmut_settings), ("tool.pytest.ini_options", pytest_settings)):
        lines += ["", f"[{table}]"] + [f"{key} = {toml_value(value)}" for key, value in values.items()]
    (here / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return here


def mutmut(here: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "PYTEST_"))}
    env |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("PYTHONPATH", None)
    if log is None:
        return subprocess.run(
            [str(MUTMUT), *args], cwd=here, env=env, capture_output=True, text=True, check=False
        )
    with log.open("w") as out:
        return subprocess.run(
            [str(MUTMUT), *args],
            cwd=here,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )


# `mutmut show` for many mutants in one process: each `mutmut show` pays for importing mutmut again.
SHOW_DIFFS = """\
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
print(json.dumps({name: get_diff_for_mutant(name) for name in sys.argv[1:]}))
"""


def diffs_of(here: Path, names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    done = subprocess.run(
        [str(TOOL_VENV / "bin" / "python"), "-c", SHOW_DIFFS, *names],
        cwd=here,
        capture_output=True,
        text=True,
        check=True,
    )
    diffs: dict[str, str] = json.loads(done.stdout)
    return diffs


def mutated_lines(diff: str) -> list[str]:
    return [
        line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]


# The names of every mutant mutmut makes of one file, without running anything.
LIST_MUTANTS = """\
import io, json, sys
from pathlib import Path
from mutmut.__main__ import get_mutant_name, write_all_mutants_to_file
path = Path(sys.argv[1])
made = write_all_mutants_to_file(out=io.StringIO(), source=path.read_text(), filename=path)
print(json.dumps(sorted(get_mutant_name(path, name) for name in made.mutant_names)))
"""


def sampled(here: Path, module: Module) -> tuple[list[str], list[str]]:
    """(every mutant of the module, the ones to run): a fixed-seed sample, so that the same code and tests
    always run the same mutants and a score moves only when one of them does."""
    done = subprocess.run(
        [str(TOOL_VENV / "bin" / "python"), "-c", LIST_MUTANTS, staged_path(module.source)],
        cwd=here,
        capture_output=True,
        text=True,
        check=True,
    )
    names: list[str] = json.loads(done.stdout)
    if module.sample is None or module.sample >= len(names):
        return names, names
    return names, sorted(random.Random(module.seed).sample(names, module.sample))


def run_module(module: Module, children: int, equivalents: list[Equivalent]) -> Outcome:
    outcome = Outcome(module)
    started = time.monotonic()
    here = stage(module)
    log = here / "mutmut.log"
    every, chosen = sampled(here, module)
    outcome.total = len(every)
    names = chosen if len(chosen) < len(every) else []
    done = mutmut(here, "run", "--max-children", str(children), *names, log=log)
    outcome.seconds = time.monotonic() - started
    if done.returncode != 0:
        outcome.problems.append(f"mutmut run failed (exit {done.returncode}); see {log.relative_to(ROOT)}")
        return outcome
    for line in mutmut(here, "results", "--all", "true").stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith(module.name + ".") and (not names or name in names):
            outcome.statuses[name] = status
    check_wiring(outcome)
    # An equivalent outside the sample is neither run nor counted; one that no longer exists is a problem.
    mine = [
        e
        for e in equivalents
        if e.mutant.startswith(module.name + ".") and (e.mutant in outcome.statuses or e.mutant not in every)
    ]
    outcome.diffs = diffs_of(
        here,
        [n for n, s in outcome.statuses.items() if s not in DETECTED or n in {e.mutant for e in mine}],
    )
    check_equivalents(outcome, mine)
    return outcome


def check_wiring(outcome: Outcome) -> None:
    """A mutant of the module must make its tests fail somewhere, or the tests run other code."""
    if not outcome.statuses:
        outcome.problems.append("mutmut made no mutants: is the file in the module's staged src/?")
    elif not outcome.detected:
        outcome.problems.append(
            "no mutant was detected: the tests do not run the mutated code (import path?) or none ran"
        )
    unfinished = sorted(n for n, s in outcome.statuses.items() if s in UNFINISHED)
    if unfinished:
        outcome.problems.append(f"{len(unfinished)} mutants were not checked, e.g. {unfinished[0]}")


def check_equivalents(outcome: Outcome, equivalents: list[Equivalent]) -> None:
    """Count a listed equivalent only if it still exists, still mutates its line and still survives."""
    for equivalent in equivalents:
        status = outcome.statuses.get(equivalent.mutant)
        if status is None:
            outcome.problems.append(f"equivalent {equivalent.mutant} no longer exists: update the ratchet")
            continue
        lines = mutated_lines(outcome.diffs.get(equivalent.mutant, ""))
        if equivalent.line and equivalent.line.strip() not in lines:
            outcome.problems.append(
                f"equivalent {equivalent.mutant} now mutates {lines}, not {equivalent.line!r}:"
                " mutmut renumbered the function's mutants; find it again"
            )
        elif status in DETECTED:
            outcome.problems.append(f"equivalent {equivalent.mutant} is {status}: it is not equivalent")
        else:
            outcome.equivalent.append(equivalent.mutant)
            outcome.reasons[equivalent.mutant] = equivalent.reason


# --- the run ----------------------------------------------------------------------------------------------


def report(outcomes: list[Outcome], show_diffs: bool) -> tuple[bool, dict[str, float]]:
    """Print the table; (whether the run fails, the scores that rose)."""
    failed = False
    rose: dict[str, float] = {}
    print(
        f"\n{'module':<36} {'mutants':>9} {'equiv':>5} {'killed':>6} {'score':>6} {'stored':>6} {'time':>6}"
    )
    for outcome in outcomes:
        module, stored = outcome.module, outcome.module.score
        shown = "-" if stored is None else f"{stored:.1f}%"
        ran = len(outcome.statuses)
        mutants = f"{ran}/{outcome.total}" if ran < outcome.total else str(ran)
        print(
            f"{module.name:<36} {mutants:>9} {len(outcome.equivalent):>5} {outcome.detected:>6}"
            f" {outcome.score:>5.1f}% {shown:>6} {outcome.seconds:>5.0f}s"
        )
        for problem in outcome.problems:
            print(f"    FAIL {problem}")
        failed = failed or bool(outcome.problems)
        if outcome.problems:
            continue
        if stored is not None and outcome.score < stored:
            print(f"    FAIL the score fell below the ratchet ({outcome.score} < {stored})")
            failed = True
        elif stored is None or outcome.score > stored:
            rose[module.source] = outcome.score
        for name in outcome.survivors:
            diff = outcome.diffs.get(name, "")
            print(f"    {outcome.statuses[name]}: {name}: {' | '.join(mutated_lines(diff))}")
            if show_diffs:
                print("\n".join("        " + line for line in diff.splitlines()))
        if show_diffs:
            for name, reason in sorted(outcome.reasons.items()):
                print(f"    equivalent: {name}: {reason}")
    return failed, rose


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help="only these (file path or import name); default: all")
    parser.add_argument("--changed-since", metavar="REF", help="only modules whose file or tests changed")
    parser.add_argument("--update", action="store_true", help="write the scores that rose into the ratchet")
    parser.add_argument("--jobs", type=int, default=2, help="modules mutated at once (default 2)")
    parser.add_argument("--children", type=int, default=1, help="mutmut workers per module (default 1)")
    parser.add_argument("--show-survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--list", action="store_true", help="only print the modules that would run")
    args = parser.parse_args(argv)

    modules, equivalents = load_ratchet(RATCHET.read_text())
    if args.modules:
        modules = [m for m in modules if m.source in args.modules or m.name in args.modules]
        if not modules:
            parser.error(f"none of {args.modules} is in {RATCHET.relative_to(ROOT)}")
    if args.changed_since:
        modules = changed_modules(modules, args.changed_since)
        if not modules:
            print(f"mutate: no decision module or its tests changed since {args.changed_since}")
            return 0
    missing = [path for m in modules for path in (m.source, *m.tests) if not (ROOT / path).is_file()]
    if missing:
        parser.error(f"{RATCHET.relative_to(ROOT)} names files that do not exist: {', '.join(missing)}")
    if args.list:
        print("\n".join(m.source for m in modules))
        return 0
    ensure_tool_venv()
    started = time.monotonic()
    names = ", ".join(m.name for m in modules)
    print(f"mutate: {len(modules)} modules, {args.jobs} at a time: {names}", flush=True)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(lambda m: run_module(m, args.children, equivalents), modules))
    failed, rose = report(outcomes, args.show_survivors)
    print(f"\nmutate: {time.monotonic() - started:.0f}s in all")
    if rose:
        if args.update and not failed:
            write_scores(rose)
            print(f"mutate: recorded the higher scores in {RATCHET.relative_to(ROOT)}: {rose}")
        else:
            print(f"mutate: scores rose ({rose}); record them with `make mutate RATCHET=update`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
