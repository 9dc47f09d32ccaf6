"""A clock the tests can move forward: for Powertools' idempotency expiry checks and the sender's own.

Powertools reads the time with `datetime.datetime.now()` in its idempotency modules (the in-progress
expiry it writes, and the one it compares on a redelivery); the sender reads `EmailSender.clock`. Moving
this clock forward is how a test lets "the visibility timeout pass" without waiting for it.
"""

from __future__ import annotations

import datetime
import time
import types
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import base as idempotency_base
from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence_base
from aws_lambda_powertools.utilities.idempotency.persistence import datarecord, dynamodb

POWERTOOLS_MODULES = (idempotency_base, persistence_base, datarecord, dynamodb)


class SimClock:
    """Real time plus an offset that only grows."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def install(self, monkeypatch: pytest.MonkeyPatch, sender: Any) -> None:
        """Make Powertools' idempotency and `sender` read this clock (undone with the monkeypatch)."""
        clock = self

        class ShiftedDatetime(datetime.datetime):
            @classmethod
            def now(cls, tz: datetime.tzinfo | None = None) -> ShiftedDatetime:
                return cls.fromtimestamp(clock.time(), tz)

        shim = types.SimpleNamespace(
            datetime=ShiftedDatetime, timedelta=datetime.timedelta, date=datetime.date, time=datetime.time
        )
        for module in POWERTOOLS_MODULES:
            monkeypatch.setattr(module, "dt", shim)
        monkeypatch.setattr(sender, "clock", self.time, raising=False)
