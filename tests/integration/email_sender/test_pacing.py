"""The sender paces its sends under its share of the account's SES rate, read once per container."""

from __future__ import annotations

import threading

import pytest

from email_sender import handler
from email_sender.send_pacing import FALLBACK_SEND_RATE, RATE_HEADROOM
from email_sender.sender import DEADLINE_MARGIN_MS
from tests.integration.email_sender.conftest import SenderWorld, welcome

NOW = 1000.0


def turns(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Filled with the time of every turn the handler's pacer gives from now on, first send first.

    The pacer's clock is stopped at NOW and its sleep returns at once: a turn is NOW plus the sleep it
    was given. What the pacer decides is then the same however slowly the machine runs the records.
    """
    given = [NOW]  # the container's first send goes at once, without a sleep
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            given.append(NOW + seconds)

    monkeypatch.setattr(handler.SENDER.pacer, "_clock", lambda: NOW)
    monkeypatch.setattr(handler.SENDER.pacer, "_sleep", sleep)
    return given


def one_after_another(count: int, gap: float) -> object:
    """`count` turns, `gap` apart, from NOW."""
    return pytest.approx([NOW + k * gap for k in range(count)])


def test_sends_are_spaced_by_the_rate_share_and_the_quota_is_read_once(
    world: SenderWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.max_send_rate = 20.0
    world.configure(send_rate_share=2)  # a new container, one of two senders: 9.5 emails/s
    times = turns(monkeypatch)

    assert world.invoke(*[world.record(welcome(f"u{i}@example.com")) for i in range(8)]) == {
        "batchItemFailures": []
    }
    assert world.invoke(world.record(welcome("late@example.com"))) == {"batchItemFailures": []}

    assert len(world.sent()) == 9
    assert world.calls["ses.GetSendQuota"] == 1
    assert sorted(times) == one_after_another(9, 2 / (20.0 * RATE_HEADROOM))


def test_a_single_send_does_not_ask_the_quota(world: SenderWorld) -> None:
    world.configure()
    assert world.invoke(world.record(welcome())) == {"batchItemFailures": []}
    assert world.calls["ses.GetSendQuota"] == 0


def test_without_the_quota_the_sender_paces_at_the_fallback_and_delivers(
    world: SenderWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.max_send_rate = None  # GetSendQuota: AccessDenied
    world.configure()
    times = turns(monkeypatch)

    records = [world.record(welcome(f"u{i}@example.com")) for i in range(3)]
    assert world.invoke(*records) == {"batchItemFailures": []}

    assert len(world.sent()) == 3 and world.dead_letters() == []
    assert world.calls["ses.GetSendQuota"] == 1
    assert sorted(times) == one_after_another(3, 1 / (FALLBACK_SEND_RATE * RATE_HEADROOM))


def test_a_record_whose_turn_is_past_the_deadline_is_retried_unsent(world: SenderWorld) -> None:
    # One email every 10.5 s: the second's turn is ~10 s away, however slowly a loaded machine sends the
    # first, and only 1 s is left above the margin, so it can never wait for its turn.
    world.max_send_rate = 0.1
    world.configure(send_concurrency=1)
    world.lambda_context.remaining_ms = DEADLINE_MARGIN_MS + 1_000  # 1 s to spare above the margin

    first, second = (world.record(welcome(f"u{i}@example.com")) for i in range(2))
    result = world.invoke(first, second)

    assert world.failed_ids(result) == [second["messageId"]]
    assert len(world.sent()) == 1
    assert len(world.idempotency_items()) == 1  # the refused record's in-progress lock was deleted
