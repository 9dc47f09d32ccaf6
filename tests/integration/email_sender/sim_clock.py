"""A clock the tests can move forward: for the sender's idempotency expiry checks and its send deadlines.

The sender reads the time through `EmailSender.clock` alone (the expiry it writes on a claim, and the one
it compares on a redelivery). Moving this clock forward is how a test lets "the visibility timeout pass"
without waiting for it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest


class SimClock:
    """Real time plus an offset that only grows."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def install(self, monkeypatch: pytest.MonkeyPatch, sender: Any) -> None:
        """Make `sender` read this clock (undone with the monkeypatch)."""
        monkeypatch.setattr(sender, "clock", self.time, raising=False)
