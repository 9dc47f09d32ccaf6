"""The runbook covers every alarm: each alarm the templates create is named in docs/operations.md."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [REPO_ROOT / "template.yaml", *sorted((REPO_ROOT / "templates").glob("*.yaml"))]
RUNBOOK = REPO_ROOT / "docs" / "operations.md"

# AlarmName: !Sub "${AWS::StackName}-email-dead-letters" (or any ${...} prefix): the part after the prefix.
_ALARM_NAME = re.compile(r"AlarmName:\s*!Sub\s*[\"']?\$\{[^}]+\}-([A-Za-z0-9-]+)")


def alarm_names() -> set[str]:
    return {name for path in TEMPLATES for name in _ALARM_NAME.findall(path.read_text(encoding="utf-8"))}


def runbook_names() -> set[str]:
    """Every name the runbook writes as code, such as `email-dead-letters`."""
    return set(re.findall(r"`([A-Za-z0-9-]+)`", RUNBOOK.read_text(encoding="utf-8")))


def test_every_alarm_is_in_the_runbook() -> None:
    names = alarm_names()

    assert "email-dead-letters" in names, "no alarm found: has the AlarmName form changed?"
    assert not sorted(names - runbook_names())
