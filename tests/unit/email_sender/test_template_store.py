"""A template's compile is bounded as a send is: a template too large to compile within the budget that
any invocation gives it is refused for good (InvalidTemplate, with its reason); one stopped earlier by this
invocation's own deadline is retried (DeadlineNear). The clocks here are stand-ins: nothing is timed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from email_sender.errors import DEADLINE_NEAR, INVALID_TEMPLATE
from email_sender.template_store import CompileTime, Template, check_template
from groundskeeper.errors import PermanentError, TransientError


class SteppingClock:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def large(marker: str) -> Template:
    """A template whose HTML part takes a few hundred looks at the clock to compile."""
    rows = "".join(
        f"<tr><td>{{{{#if a}}}}{{{{b.c}}}}{{{{/if}}}} {marker} {i}</td></tr>\n" for i in range(3000)
    )
    return Template(name=f"large-{marker}", subject="Hi {{name}}", text="Hello {{name}}", html=rows)


def compile_time(budget: float, invocation_left: Callable[[], float], clock: SteppingClock) -> CompileTime:
    return CompileTime(budget=budget, time_left=invocation_left, clock=clock)


def test_a_template_that_outlasts_its_budget_is_refused_for_good_with_its_reason() -> None:
    clock = SteppingClock()
    checked = check_template(large("budget"), compile_time(10.0, lambda: 600.0, clock))

    assert checked.parts == ()
    with pytest.raises(PermanentError) as refused:
        checked.render({"name": "Ada"})
    assert refused.value.code == INVALID_TEMPLATE
    assert refused.value.message == (
        "large-budget: html: too large to compile within 10 s, the most any invocation allows"
    )


def test_a_compile_stopped_by_the_invocations_deadline_is_retried() -> None:
    clock = SteppingClock()
    invocation_left = iter(range(5, -100, -1))
    with pytest.raises(TransientError) as stopped:
        check_template(large("deadline"), compile_time(60.0, lambda: float(next(invocation_left)), clock))
    assert stopped.value.code == DEADLINE_NEAR
    assert (
        stopped.value.message == "too little time left in this invocation to compile template large-deadline"
    )


def test_the_same_template_compiles_when_the_budget_suffices_and_needs_no_time_once_compiled() -> None:
    template = large("suffices")
    clock = SteppingClock()
    checked = check_template(template, compile_time(10_000.0, lambda: 600.0, clock))
    assert len(checked.parts) == 3
    assert clock.now > 20  # the compile looked at the clock as it went

    no_time = check_template(template, compile_time(0.0, lambda: 0.0, SteppingClock()))
    assert no_time.parts == checked.parts  # compiled once per container: nothing left to bound


def test_without_a_deadline_nothing_bounds_the_compile() -> None:
    assert len(check_template(large("unbounded")).parts) == 3
