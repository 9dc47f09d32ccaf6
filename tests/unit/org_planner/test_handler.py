"""The planner's event: the job its schedule's target declares and the scheduled event's id, or a clear
error saying what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from groundskeeper.errors import PermanentError
from org_planner.handler import BAD_PLAN_REQUEST, parse_plan_request
from tests.conftest import load_event


@pytest.mark.parametrize("name", ["org-plan-eip-janitor.json", "org-plan-cors-sweep.json"])
def test_each_schedules_event_parses(name: str) -> None:
    event = load_event(name)
    assert parse_plan_request(event) == event


def test_a_manual_run_may_leave_the_time_out() -> None:
    assert parse_plan_request({"job": "cors-sweep", "id": "manual-1"}) == {
        "job": "cors-sweep",
        "id": "manual-1",
    }


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (None, "got a NoneType"),
        ([], "got a list"),
        ({"id": "r"}, "job must be one of eip-janitor, cors-sweep; got None"),
        ({"job": "email", "id": "r"}, "got 'email'"),
        # A raw scheduled event (a target without its input transformer): no job, so nothing is guessed.
        (load_event("schedule-eip-janitor.json"), "job must be one of"),
        ({"job": "eip-janitor"}, "id must be a printable string"),
        ({"job": "eip-janitor", "id": ""}, "id must be"),
        ({"job": "eip-janitor", "id": "a\nb"}, "id must be"),
        ({"job": "eip-janitor", "id": "r" * 513}, "1 to 512 characters"),
        ({"job": "eip-janitor", "id": 7}, "id must be"),
        ({"job": "eip-janitor", "id": "r", "time": 1}, "time, when given, must be a string"),
    ],
)
def test_a_bad_event_is_a_permanent_error_that_says_why(event: Any, problem: str) -> None:
    with pytest.raises(PermanentError, match=problem) as raised:
        parse_plan_request(event)
    assert raised.value.code == BAD_PLAN_REQUEST
