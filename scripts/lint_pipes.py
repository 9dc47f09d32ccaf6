"""Flags a pipe into a reader that stops early, in the shell that runs under `set -o pipefail`.

Under pipefail a pipeline fails when any stage does. A reader that exits before its input ends (`head`,
`grep -q`, `grep -m N`, awk's `exit`, sed's `q`) closes the pipe, and a writer still writing is then killed by
SIGPIPE: the line fails, or not, depending on timing and on how much the writer had left to say. Read the
whole input instead (sed's or awk's own first-match logic on the file, `${var%%$'\\n'*}` on a captured value),
or mark a pipeline that is safe with a `# pipefail-ok: <why>` comment on its line.

Checks scripts/*.sh, scripts/local/*.sh, .ci/run and the Makefile's recipes (`make lint`). Exit status 1 and
one `path:line: ...` per finding when something is flagged.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHELL_GLOBS = ("scripts/*.sh", "scripts/local/*.sh", ".ci/run")
MAKEFILE = "Makefile"
ALLOW = "pipefail-ok:"

_PIPEFAIL = re.compile(r"(?:^|\s)set\s+(?:-[a-zA-Z]*o\s+pipefail|-o\s+pipefail)\b|-o\s+pipefail")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
# sed's quit command: q or Q (an exit code may follow), at the start of a command, then the end of it.
_SED_QUIT = re.compile(r"(?:^|[;{}\s\d/$])[qQ]\s*\d*\s*(?:$|[;}])")
# A case arm's patterns (`a | b)`) are alternatives, not a pipeline.
_CASE_START = re.compile(r"(?:^|[;\s])case\s.*\sin$")
_CASE_PATTERN = re.compile(r"""^\(?(?:[^()'"\s]|'[^']*'|"[^"]*"|\s)*\)""")
# grep's short options that take an argument: a cluster ends at the first of them.
_GREP_ARG_OPTIONS = set("efmABCdD")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    reader: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: `{self.reader}` reads a pipe and can stop early; under pipefail the "
            "writer's SIGPIPE then fails the line (read the whole input, or mark it `# pipefail-ok: <why>`)"
        )


def _strip_comment(line: str) -> str:
    """The line without its trailing comment (a `#` outside quotes, at the start or after a blank)."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"':
                continue
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t;(|&") and line[i - 1 : i + 1] != "$#":
            return line[:i]
    return line


def logical_lines(lines: Iterable[str]) -> Iterator[tuple[int, str, bool]]:
    """(first line number, joined text, allowed) for each command line.

    Joins backslash continuations and a pipeline continued after a trailing `|`, `&&` or `||`; skips comments
    and here-document bodies. `allowed` is true when any joined line carries the `pipefail-ok:` mark.
    """
    pending: list[str] = []
    start = 0
    allowed = False
    heredoc_end: tuple[str, bool] | None = None
    for number, raw in enumerate(lines, 1):
        if heredoc_end is not None:
            word, dash = heredoc_end
            if (raw.lstrip("\t") if dash else raw).rstrip("\n") == word:
                heredoc_end = None
            continue
        if not pending:
            start = number
        allowed = allowed or ALLOW in raw
        text = _strip_comment(raw.rstrip("\n"))
        if (heredoc := _HEREDOC.search(text)) is not None:
            heredoc_end = (heredoc.group(2), heredoc.group(0).startswith("<<-"))
        stripped = text.rstrip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        if stripped.endswith(("|", "&&", "||")):
            continue
        joined = " ".join(part.strip() for part in pending).strip()
        if joined:
            yield start, joined, allowed
        pending, allowed = [], False
    if pending:
        yield start, " ".join(part.strip() for part in pending).strip(), allowed


def _readers(command: str) -> Iterator[str]:
    """The text of every stage that reads a pipe (`a | b` gives `b`), quotes kept whole.

    A stage ends at the next unquoted `|`, `;`, `&`, `)`, `}` or backquote; `||` is not a pipe.
    """
    quote = ""
    depth_start: int | None = None
    i = 0
    while i < len(command):
        char = command[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 2
                continue
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "\\":
            i += 2
            continue
        elif char == "|":
            if command[i + 1 : i + 2] == "|":
                if depth_start is not None:
                    yield command[depth_start:i]
                    depth_start = None
                i += 2
                continue
            if depth_start is not None:
                yield command[depth_start:i]
            depth_start = i + 1 + (command[i + 1 : i + 2] == "&")
        elif char in ";&)}`" and depth_start is not None:
            yield command[depth_start:i]
            depth_start = None
        i += 1
    if depth_start is not None:
        yield command[depth_start:]


def _words(stage: str) -> list[str]:
    try:
        words = shlex.split(stage, posix=True)
    except ValueError:
        words = stage.split()
    # Leading grouping, negation, env assignments and wrappers do not change who reads the pipe.
    while words and (
        words[0] in ("{", "(", "!", "command", "exec", "env", "time")
        or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])
    ):
        words = words[1:]
    return words


def _grep_stops_early(args: list[str]) -> bool:
    operand_next = False  # the previous option takes this word as its argument
    for arg in args:
        if operand_next:
            operand_next = False
            continue
        if arg == "--":
            return False
        if arg in ("--quiet", "--silent") or arg.startswith("--max-count"):
            return True
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            for position, letter in enumerate(arg[1:], 2):
                if letter in "qm":
                    return True
                if letter in _GREP_ARG_OPTIONS:
                    operand_next = position == len(arg)
                    break
    return False


def early_exit_reader(stage: str) -> bool:
    """Whether this pipe reader can stop before the end of its input."""
    words = _words(stage)
    if not words:
        return False
    name, args = Path(words[0]).name, words[1:]
    if name == "head":
        return True
    if name in ("grep", "egrep", "fgrep"):
        return _grep_stops_early(args)
    if name in ("awk", "gawk", "mawk", "nawk"):
        return any(re.search(r"\bexit\b", arg) for arg in args if not arg.startswith("-"))
    if name in ("sed", "gsed"):
        scripts = [arg for arg in args if not arg.startswith("-")]
        return any(_SED_QUIT.search(script) for script in scripts)
    return False


def check_text(path: str, lines: list[str], *, pipefail: bool | None = None) -> list[Finding]:
    """Findings in one file; `pipefail` None means: on when the file sets it anywhere."""
    if pipefail is None:
        pipefail = any(_PIPEFAIL.search(_strip_comment(line)) for line in lines)
    if not pipefail:
        return []
    findings = []
    in_case = 0
    for number, line, allowed in logical_lines(lines):
        command = line
        if _CASE_START.search(command):
            in_case += 1
            continue
        if in_case and re.match(r"esac\b", command):
            in_case -= 1
            continue
        if in_case and (arm := _CASE_PATTERN.match(command)) is not None:
            command = command[arm.end() :]
        if allowed:
            continue
        for stage in _readers(command):
            if early_exit_reader(stage):
                findings.append(Finding(path, number, " ".join(_words(stage))[:60]))
    return findings


def makefile_recipes(lines: list[str]) -> list[str]:
    """The Makefile with everything but its recipe lines blanked (line numbers kept), `$$` read as `$`."""
    return [line[1:].replace("$$", "$") if line.startswith("\t") else "\n" for line in lines]


def check_makefile(path: Path, name: str) -> list[Finding]:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    pipefail = any(line.startswith(".SHELLFLAGS") and _PIPEFAIL.search(line) for line in lines) or any(
        _PIPEFAIL.search(_strip_comment(line)) for line in makefile_recipes(lines)
    )
    return check_text(name, makefile_recipes(lines), pipefail=pipefail)


def check_repo(root: Path = REPO_ROOT) -> list[Finding]:
    findings: list[Finding] = []
    for pattern in SHELL_GLOBS:
        for path in sorted(root.glob(pattern)):
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            findings.extend(check_text(str(path.relative_to(root)), lines))
    if (root / MAKEFILE).is_file():
        findings.extend(check_makefile(root / MAKEFILE, MAKEFILE))
    return findings


def main() -> int:
    findings = check_repo()
    for finding in findings:
        print(finding, file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
