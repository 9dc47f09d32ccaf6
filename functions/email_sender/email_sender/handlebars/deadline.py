"""Bounds a compile by a deadline: the stages count their steps (tokens, statements) and every so many ask
how much time is left. None left is CompileTimeUp: the compile stops there, whatever the template."""

from __future__ import annotations

from collections.abc import Callable

from email_sender.handlebars.errors import CompileTimeUp

# Steps between two looks at the clock: well under a millisecond of work, so a compile stops soon after its
# deadline, and the clock (a Lambda context call) costs nothing next to the work.
CHECK_EVERY = 256


class _Deadline:
    """`time_left()` is the seconds the compile may still take (None: no deadline)."""

    __slots__ = ("_steps", "_time_left")

    def __init__(self, time_left: Callable[[], float] | None = None) -> None:
        self._time_left = time_left
        self._steps = 0
        self.check()

    def step(self) -> None:
        self._steps += 1
        if self._steps >= CHECK_EVERY:
            self._steps = 0
            self.check()

    def check(self) -> None:
        if self._time_left is not None and self._time_left() <= 0:
            raise CompileTimeUp("the compile reached its deadline before it ended")
