"""The sender paces its sends under its share of the account's SES rate, read once per container."""

from __future__ import annotations

import threading
import time
from typing import Any

from email_sender.send_pacing import FALLBACK_SEND_RATE, RATE_HEADROOM
from email_sender.sender import DEADLINE_MARGIN_MS
from tests.integration.email_sender.conftest import SenderWorld, welcome

# A thread may wake late for its turn, which shortens the gap to the next one: check spans, not gaps.
SLACK = 0.05


def span_in_gaps(times: list[float], gap: float) -> None:
    ordered = sorted(times)
    for k in range(1, len(ordered)):
        assert ordered[k] - ordered[0] >= k * gap - SLACK


def send_times(world: SenderWorld) -> list[float]:
    """Filled with the time of every SendEmail call from now on."""
    times: list[float] = []
    lock = threading.Lock()

    def stamp(**_: Any) -> None:
        with lock:
            times.append(time.monotonic())

    world.send_ses.meta.events.register("before-call.ses.SendEmail", stamp)
    return times


def test_sends_are_spaced_by_the_rate_share_and_the_quota_is_read_once(world: SenderWorld) -> None:
    world.max_send_rate = 20.0
    world.configure(send_rate_share=2)  # a new container, one of two senders: 9.5 emails/s
    times = send_times(world)

    assert world.invoke(*[world.record(welcome(f"u{i}@example.com")) for i in range(8)]) == {
        "batchItemFailures": []
    }
    assert world.invoke(world.record(welcome("late@example.com"))) == {"batchItemFailures": []}

    assert len(world.sent()) == 9
    assert world.calls["ses.GetSendQuota"] == 1
    span_in_gaps(times, 2 / (20.0 * RATE_HEADROOM))


def test_a_single_send_does_not_ask_the_quota(world: SenderWorld) -> None:
    world.configure()
    assert world.invoke(world.record(welcome())) == {"batchItemFailures": []}
    assert world.calls["ses.GetSendQuota"] == 0


def test_without_the_quota_the_sender_paces_at_the_fallback_and_delivers(world: SenderWorld) -> None:
    world.max_send_rate = None  # GetSendQuota: AccessDenied
    world.configure()
    times = send_times(world)

    records = [world.record(welcome(f"u{i}@example.com")) for i in range(3)]
    assert world.invoke(*records) == {"batchItemFailures": []}

    assert len(world.sent()) == 3 and world.dead_letters() == []
    assert world.calls["ses.GetSendQuota"] == 1
    span_in_gaps(times, 1 / (FALLBACK_SEND_RATE * RATE_HEADROOM))


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
