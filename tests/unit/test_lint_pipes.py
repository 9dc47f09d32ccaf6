"""The pipe lint flags a reader that stops early under pipefail, and the repository's shell has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.lint_pipes import check_makefile, check_repo, check_text

PIPEFAIL = "#!/usr/bin/env bash\nset -euo pipefail\n"
# The line scripts/local/venv.sh had: sed's output piped into `head -n 1`.
OLD_VENV_LINE = (
    "uv_pin=$(sed -nE 's/^[[:space:]]*uv[[:space:]]*==[[:space:]]*([^[:space:];#]+).*/\\1/p' "
    '"$REQ" | head -n 1)\n'
)


def findings(script: str) -> list[int]:
    return [finding.line for finding in check_text("t.sh", script.splitlines(keepends=True))]


def test_the_old_venv_line_is_flagged() -> None:
    assert findings(PIPEFAIL + OLD_VENV_LINE) == [3]


@pytest.mark.parametrize(
    "reader",
    [
        "head -n 1",
        "head -1",
        "/usr/bin/head",
        "grep -q ready",
        "grep -qE 'a|b'",
        "grep -Eq x",
        "grep --quiet x",
        "grep -m 1 x",
        "grep -m1 x",
        "grep --max-count=1 x",
        "awk '/x/ {print; exit}'",
        "sed q",
        "sed 1q",
        "sed -n '1p;q'",
        "sed -n '/uv/{p;q}'",
        "sed -n -e '/x/{s//y/p;Q}'",
        "{ head -n 2; }",
        "LC_ALL=C grep -q x",
    ],
)
def test_every_early_reader_is_flagged(reader: str) -> None:
    assert findings(PIPEFAIL + f"producer --verbose | {reader}\n") == [3]


@pytest.mark.parametrize(
    "line",
    [
        "producer | grep -v noise\n",
        "producer | grep -e -q\n",
        "producer | awk '{print $1}'\n",
        "producer | sed -n 's/a/q/p'\n",
        "producer | sha256sum | cut -d' ' -f1\n",
        "head -n 1 file\n",  # no pipe
        "grep -q x file || true\n",  # `||` is no pipe
        "producer | head -n 1  # pipefail-ok: producer prints one line\n",
        "echo 'a | head -n 1'\n",  # quoted
    ],
)
def test_whole_readers_and_non_pipes_pass(line: str) -> None:
    assert findings(PIPEFAIL + line) == []


def test_continued_pipelines_and_command_substitutions_are_read() -> None:
    script = PIPEFAIL + "x=$(producer \\\n  --flag |\n  grep -m 1 y)\necho $x\n"
    assert findings(script) == [3]


def test_case_arms_and_heredocs_are_not_pipelines() -> None:
    script = PIPEFAIL + "case $x in\n  head | grep) : ;;\nesac\ncat <<'EOF'\nproducer | head\nEOF\n"
    assert findings(script) == []


def test_without_pipefail_nothing_is_flagged() -> None:
    assert findings("#!/usr/bin/env bash\nset -eu\nproducer | head -n 1\n") == []


def test_makefile_recipes_under_shellflags_pipefail(tmp_path: Path) -> None:
    makefile = tmp_path / "Makefile"
    makefile.write_text(
        ".SHELLFLAGS := -eu -o pipefail -c\n"
        "help: ## List\n"
        "\t@grep -hE '^[a-z]+:' $(MAKEFILE_LIST) | awk '{print $$1}'\n"
        "first:\n"
        "\t@git log --format=%H | head -n 1\n"
    )
    assert [finding.line for finding in check_makefile(makefile, "Makefile")] == [5]


def test_the_repository_shell_is_clean() -> None:
    assert [str(finding) for finding in check_repo()] == []
