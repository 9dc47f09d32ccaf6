"""The sample events in events/: each run the demo starts from them is told apart by its id."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _run_ids(value: object) -> list[str]:
    """Every `id` and `run_id` in an event, SQS bodies (JSON in a string) included."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in {"id", "run_id"} and isinstance(inner, str):
                found.append(inner)
            elif key == "body" and isinstance(inner, str) and inner.startswith("{"):
                found.extend(_run_ids(json.loads(inner)))
            else:
                found.extend(_run_ids(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_run_ids(inner))
    return found


def test_a_single_account_run_and_a_hub_run_never_share_a_run_id() -> None:
    """A janitor run and a hub run of the demo would otherwise show the same run id in their emails."""
    schedules = {"schedule-eip-janitor.json", "schedule-cors-sweep.json"}
    hub = {"org-plan-eip-janitor.json", "org-plan-cors-sweep.json"}
    files: dict[str, set[str]] = defaultdict(set)
    for name in sorted(schedules | hub):
        for run_id in _run_ids(json.loads((EVENTS / name).read_text(encoding="utf-8"))):
            files[run_id].add(name)
    shared = {run_id: sorted(names) for run_id, names in files.items() if len(names) > 1}
    assert shared == {}


def test_the_hub_work_item_belongs_to_the_hub_run() -> None:
    """The sample work item is one account's part of the hub's janitor run, so it carries that run's id."""
    plan = json.loads((EVENTS / "org-plan-eip-janitor.json").read_text(encoding="utf-8"))
    item = json.loads((EVENTS / "sqs-org-work-item.json").read_text(encoding="utf-8"))
    assert _run_ids(item) and set(_run_ids(item)) <= {plan["id"]}
