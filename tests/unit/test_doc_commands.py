"""Every command a doc shows in a code block works as written, checked in a dry form.

From each fenced block of README.md, docs/ and scripts/local/README.md (a shell block, or an unlabelled one
whose lines start with a command we know): `make` targets exist in the Makefile; `groundskeeper` commands
parse with the CLI's own parser; scripts exist, and take the options shown (a Python script's --help lists
them, a shell script's text names them); `sam` subcommands are SAM's, the function named is the template's;
and every `events/...` file named exists.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from scripts.settings_table import environments, load_templates

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(
    [REPO_ROOT / "README.md", REPO_ROOT / "scripts/local/README.md", *(REPO_ROOT / "docs").rglob("*.md")]
)
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^```(\w*)\s*$")
SEPARATORS = {"&&", "||", "|", ";", "&", "(", ")"}
REDIRECTS = {">", ">>", "<", "2>", "2>&1", ">&"}
SAM_COMMANDS = {"build", "deploy", "delete", "init", "list", "local", "logs", "package", "pipeline",
                "publish", "remote", "sync", "traces", "validate", "docs"}  # fmt: skip
SAM_LOCAL_COMMANDS = {"invoke", "start-api", "start-lambda", "generate-event", "callback", "execution"}
KNOWN = re.compile(r"^(\$ )?(make|sam|\.venv/bin/\S+|groundskeeper|scripts/\S+|\./scripts/\S+|\.ci/run)\b")


@dataclass(frozen=True)
class Command:
    where: str  # file:line
    words: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: {shlex.join(self.words)}"


def code_blocks(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(first line number, language, lines) of each fenced block."""
    language: str | None = None
    start, lines = 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line.strip())
        if language is None and match:
            language, start, lines = match.group(1), number + 1, []
        elif language is not None and line.strip() == "```":
            yield start, language, lines
            language = None
        elif language is not None:
            lines.append(line)


def logical_lines(start: int, lines: list[str]) -> Iterator[tuple[int, str]]:
    """Lines with their backslash continuations joined, and the line number each starts on."""
    pending, first = "", start
    for offset, line in enumerate(lines):
        if not pending:
            first = start + offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield first, pending + line
        pending = ""
    if pending:
        yield first, pending


def commands_in(text: str) -> Iterator[list[str]]:
    """The simple commands of one shell line: split at && ; | and the like; redirections, comments dropped."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True  # shlex's comment character is already "#"
    words: list[str] = []
    skip_next = False
    for token in lexer:
        if skip_next:
            skip_next = False
        elif token in SEPARATORS:
            if words:
                yield words
            words = []
        elif token in REDIRECTS or token.endswith((">", "<")):
            skip_next = True
        else:
            words.append(token)
    if words:
        yield words


def doc_commands(paths: list[Path] = DOCS) -> list[Command]:
    found = []
    for path in paths:
        for start, language, lines in code_blocks(path):
            if language not in SHELL_LANGUAGES and (language or not any(KNOWN.match(x) for x in lines)):
                continue
            for number, line in logical_lines(start, lines):
                if not KNOWN.match(line.strip()):
                    continue
                for simple in commands_in(line.strip().removeprefix("$ ")):
                    words = simple
                    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                        words = words[1:]  # VAR=value before the command
                    if words:
                        where = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path.name
                        found.append(Command(f"{where}:{number}", tuple(words)))
    return found


@cache
def make_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):(?!=)", text, flags=re.MULTILINE))


@cache
def template_functions() -> set[str]:
    return {where for where, _ in environments(load_templates()) if where != "Globals"} | {
        name
        for template in load_templates()
        for name, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


@cache
def python_help(module: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"python -m {module} --help: {proc.stderr}"
    return proc.stdout


def options(words: tuple[str, ...]) -> list[str]:
    return [w.split("=", 1)[0] for w in words if w.startswith("--") and len(w) > 2]


def problems(command: Command) -> list[str]:
    """What is wrong with one command as the doc writes it; [] when it would work."""
    words = command.words
    found = [
        f"{w}: no such file"
        for w in words
        if w.startswith(("events/", "tests/")) and not (REPO_ROOT / w.split("::")[0]).exists()
    ]
    head = words[0].removeprefix("./")
    if head.startswith(".venv/bin/python") and len(words) > 1 and words[1].endswith(".py"):
        head, words = words[1], words[1:]  # python path/to/script.py ...
    if head.startswith(".venv/bin/python") and words[1:2] == ("-m",) and not words[2].startswith("scripts."):
        module = words[2].replace(".", "/")
        if words[2] not in {"pytest", "groundskeeper_cli"} and not any(
            (REPO_ROOT / f"{module}{tail}").exists() for tail in (".py", "/__init__.py", "/__main__.py")
        ):
            found.append(f"python -m {words[2]}: no such module")
    if head == "make":
        found += [f"make {w}: no such target" for w in words[1:] if not w.startswith("-") and "=" not in w
                  and w not in make_targets()]  # fmt: skip
    elif head in {"groundskeeper", ".venv/bin/groundskeeper"} or words[:3] == (
        ".venv/bin/python",
        "-m",
        "groundskeeper_cli",
    ):
        found += cli_problems(words[1:] if "groundskeeper" in head else words[3:])
    elif head in {"sam", ".venv/bin/sam", "scripts/local/sam-local.sh"}:
        found += sam_problems(words[1:])
        if head != "scripts/local/sam-local.sh" and words[1:2] == ("local",):
            found.append("bare `sam local`: sam is not on PATH and needs the local loop; show `make invoke`")
    elif (
        head.startswith((".venv/bin/python", "python"))
        and words[1:2] == ("-m",)
        and words[2].startswith("scripts.")
    ):
        shown = python_help(words[2])
        found += [f"{words[2]} takes no {o}" for o in options(words) if o not in shown]
    elif head.startswith(("scripts/", ".ci/")):
        script = REPO_ROOT / head
        if not script.is_file():
            found.append(f"{head}: no such script")
        elif script.suffix == ".py":
            module = head.removesuffix(".py").replace("/", ".")
            shown = python_help(module)
            found += [f"{head} takes no {o}" for o in options(words) if o not in shown]
        else:
            text = script.read_text(encoding="utf-8")
            found += [f"{head} takes no {o}" for o in options(words) if o not in text]
    return found


def cli_problems(argv: tuple[str, ...]) -> list[str]:
    from groundskeeper_cli.app import _parser

    if "--help" in argv or "-h" in argv:
        return []
    try:
        _parser().parse_args(list(argv))
    except SystemExit:
        return [f"groundskeeper {shlex.join(argv)}: the CLI's parser refuses it"]
    return []


def sam_problems(argv: tuple[str, ...]) -> list[str]:
    positional = [w for w in argv if not w.startswith("-")]
    if not positional or positional[0] not in SAM_COMMANDS:
        return [f"sam {shlex.join(argv)}: not a sam command"]
    if positional[0] != "local":
        return []
    if len(positional) < 2 or positional[1] not in SAM_LOCAL_COMMANDS:
        return [f"sam {shlex.join(argv)}: not a sam local command"]
    found = []
    if positional[1] == "invoke":
        if len(positional) < 3 or positional[2] not in template_functions():
            found.append(f"sam local invoke: no function {positional[2:3]} in template.yaml")
        for flag in ("-e", "--event"):
            if flag in argv:
                event = argv[argv.index(flag) + 1]
                if not (REPO_ROOT / event).is_file():
                    found.append(f"{event}: no such event file")
    return found


COMMANDS = doc_commands()


def test_the_docs_show_commands() -> None:
    heads = {c.words[0] for c in COMMANDS}
    assert {"make", "scripts/local/sam-local.sh"} <= heads
    assert len(COMMANDS) > 40


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_each_documented_command_works_as_written(command: Command) -> None:
    assert problems(command) == []


def test_a_broken_command_is_caught(tmp_path: Path) -> None:
    """The local loop's README once invoked the auditor with an event file that does not exist."""
    doc = tmp_path / "broken.md"
    doc.write_text(
        "```bash\n"
        "scripts/local/sam-local.sh local invoke CorsAuditorFunction --skip-pull-image \\\n"
        '  --env-vars "$(scripts/local/sam-env.sh)" -e events/cors_auditor.json   # then grep stdout\n'
        "make no-such-target\n"
        "groundskeeper audit-cors --all --no-such-flag\n"
        "scripts/local/sam-local.sh local invoke NoSuchFunction\n"
        "scripts/local/sam-env.sh --no-such-option\n"
        "```\n",
        encoding="utf-8",
    )
    found = [problems(c) for c in doc_commands([doc])]
    assert found[0] == [
        "events/cors_auditor.json: no such file",
        "events/cors_auditor.json: no such event file",
    ]
    assert found[1] == ["make no-such-target: no such target"]
    assert "refuses" in found[2][0]
    assert "no function" in found[3][0]
    assert found[4] == ["scripts/local/sam-env.sh takes no --no-such-option"]


def test_a_bare_sam_local_is_caught() -> None:
    (problem,) = problems(Command("doc.md:1", ("sam", "local", "invoke", "EipJanitorFunction")))
    assert "make invoke" in problem


def test_the_readmes_email_request_renders() -> None:
    """The README's message-contract example is a request the sender accepts and renders: no dead letter."""
    import json

    from email_sender.email_request import parse_email_request
    from email_sender.template_store import check_template, load_bundled_template

    readme = REPO_ROOT / "README.md"
    (body,) = ["\n".join(lines) for _, language, lines in code_blocks(readme) if language == "json"]
    request = parse_email_request(json.dumps(json.loads(body)), default_sender="groundskeeper@example.com")
    template = load_bundled_template(request.template)
    assert template is not None
    rendered = check_template(template).render(request.data)
    assert rendered.subject
