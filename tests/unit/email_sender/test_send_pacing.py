"""The send pacer: sends spaced under the account's rate share, the quota read once, a safe fallback."""

from __future__ import annotations

import threading
import time as real_time
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from email_sender.errors import DEADLINE_NEAR
from email_sender.send_pacing import (
    CATCH_UP_SECONDS,
    FALLBACK_SEND_RATE,
    QUOTA_RETRY_SECONDS,
    RATE_HEADROOM,
    SendPacer,
    read_max_send_rate,
)
from groundskeeper.errors import TransientError


class FakeTime:
    """A clock that only moves when the pacer sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Quota:
    def __init__(self, *rates: float | None) -> None:
        self.rates = list(rates)
        self.calls = 0

    def __call__(self) -> float | None:
        self.calls += 1
        return self.rates[min(self.calls, len(self.rates)) - 1]


def pacer(quota: Quota, time: FakeTime, share: int = 1) -> SendPacer:
    return SendPacer(quota, share=share, clock=time.clock, sleep=time.sleep)


def send_times(p: SendPacer, time: FakeTime, count: int, recipients: int = 1) -> list[float]:
    times = []
    for _ in range(count):
        p.wait_for_turn(recipients)
        times.append(time.now)
    return times


def test_the_first_send_goes_at_once_without_asking_the_quota() -> None:
    time, quota = FakeTime(), Quota(10.0)
    p = pacer(quota, time)
    p.wait_for_turn(1)
    assert (quota.calls, time.sleeps) == (0, [])


def test_sends_are_spaced_at_the_rate_with_headroom_and_the_quota_is_read_once() -> None:
    time, quota = FakeTime(), Quota(10.0)
    times = send_times(pacer(quota, time), time, 5)
    gap = 1 / (10.0 * RATE_HEADROOM)
    assert times == pytest.approx([1000.0 + i * gap for i in range(5)])
    assert quota.calls == 1


def test_the_rate_is_divided_by_the_share() -> None:
    time, quota = FakeTime(), Quota(10.0)
    times = send_times(pacer(quota, time, share=4), time, 3)
    gap = 4 / (10.0 * RATE_HEADROOM)
    assert times == pytest.approx([1000.0, 1000.0 + gap, 1000.0 + 2 * gap])


def test_recipients_count_against_the_rate() -> None:
    time, quota = FakeTime(), Quota(10.0)
    times = send_times(pacer(quota, time), time, 3, recipients=5)
    gap = 5 / (10.0 * RATE_HEADROOM)
    assert times == pytest.approx([1000.0, 1000.0 + gap, 1000.0 + 2 * gap])


def test_time_that_passed_between_sends_is_not_waited_again() -> None:
    time, quota = FakeTime(), Quota(1.0)
    p = pacer(quota, time)
    p.wait_for_turn(1)
    time.now += 10  # a quiet container: the next send owes nothing
    p.wait_for_turn(1)
    p.wait_for_turn(1)
    assert time.sleeps == pytest.approx([1 / RATE_HEADROOM])


def test_a_turn_taken_a_little_late_keeps_the_cadence() -> None:
    """The next batch's first record asks a few round trips after its slot: the slots after it stay put."""
    time, quota = FakeTime(), Quota(20.0)
    p = pacer(quota, time, share=2)
    slot = 2 / (20.0 * RATE_HEADROOM)
    send_times(p, time, 2)  # slots at 1000 and 1000 + slot
    time.now = 1000.0 + 2 * slot + 0.04  # 40 ms after the third slot
    times = send_times(p, time, 3)
    assert times == pytest.approx([1000.0 + 2 * slot + 0.04, 1000.0 + 3 * slot, 1000.0 + 4 * slot])


def test_a_late_turn_makes_up_at_most_one_slot() -> None:
    time, quota = FakeTime(), Quota(20.0)
    p = pacer(quota, time, share=2)
    slot = 2 / (20.0 * RATE_HEADROOM)
    send_times(p, time, 2)
    late = 2.5 * slot  # within CATCH_UP_SECONDS, but more than a slot
    assert late < CATCH_UP_SECONDS
    time.now = 1000.0 + 2 * slot + late
    times = send_times(p, time, 2)
    assert times[1] - times[0] == pytest.approx(0.0)  # the two closest sends: never more than two
    assert send_times(p, time, 1)[0] - times[1] == pytest.approx(slot)


def test_a_late_turn_at_a_slow_rate_or_after_a_pause_restarts_the_cadence() -> None:
    time, quota = FakeTime(), Quota(1.0)  # slot 1.05 s: one more send would not fit SES's second
    p = pacer(quota, time)
    send_times(p, time, 2)
    time.now += 0.1
    times = send_times(p, time, 2)
    assert times[1] - times[0] == pytest.approx(1 / RATE_HEADROOM)

    time, quota = FakeTime(), Quota(20.0)
    p = pacer(quota, time)
    send_times(p, time, 2)
    time.now += CATCH_UP_SECONDS + 1  # a pause, not a late turn
    times = send_times(p, time, 2)
    assert times[1] - times[0] == pytest.approx(1 / (20.0 * RATE_HEADROOM))


def test_a_failed_quota_read_paces_at_the_fallback_and_asks_again_later() -> None:
    time, quota = FakeTime(), Quota(None, 50.0)
    p = pacer(quota, time)
    send_times(p, time, 3)
    assert time.sleeps == pytest.approx([1 / (FALLBACK_SEND_RATE * RATE_HEADROOM)] * 2)
    assert quota.calls == 1
    time.now += QUOTA_RETRY_SECONDS
    time.sleeps.clear()
    send_times(p, time, 3)
    assert quota.calls == 2
    assert time.sleeps == pytest.approx([1 / (50.0 * RATE_HEADROOM)] * 2)
    time.now += 10 * QUOTA_RETRY_SECONDS
    send_times(p, time, 2)
    assert quota.calls == 2  # a rate that was read is kept


def test_a_turn_beyond_the_time_left_is_refused_without_taking_it() -> None:
    time, quota = FakeTime(), Quota(1.0)
    p = pacer(quota, time)
    p.wait_for_turn(1)
    p.wait_for_turn(1, time_left=5.0)  # about 1 s away: fine
    with pytest.raises(TransientError) as raised:
        p.wait_for_turn(1, time_left=0.5)
    assert raised.value.code == DEADLINE_NEAR
    sleeps = len(time.sleeps)
    time.now += 1 / RATE_HEADROOM
    p.wait_for_turn(1, time_left=0.0)  # the refused turn was not reserved: this one is due now
    assert len(time.sleeps) == sleeps


def test_no_wait_means_no_deadline_check() -> None:
    time, quota = FakeTime(), Quota(1.0)
    p = pacer(quota, time)
    p.wait_for_turn(1, time_left=-1.0)
    time.now += 100
    p.wait_for_turn(1, time_left=-1.0)
    assert time.sleeps == []


def test_threads_share_one_pace() -> None:
    """Real clock: 12 sends from 4 threads at 40/s take about 11 gaps, not 3."""
    p = SendPacer(lambda: 40.0 / RATE_HEADROOM)
    started: list[float] = []
    lock = threading.Lock()

    def send_three() -> None:
        for _ in range(3):
            p.wait_for_turn(1)
            with lock:
                started.append(real_time.monotonic())

    threads = [threading.Thread(target=send_three) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started.sort()
    assert started[-1] - started[0] >= 11 / 40 - 0.01
    # A thread may wake late for its turn (shortening the next gap), so check spans from the first.
    assert all(started[k] - started[0] >= k / 40 - 0.05 for k in range(1, len(started)))


class FakeSes:
    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer

    def get_send_quota(self) -> dict[str, Any]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_read_max_send_rate() -> None:
    assert read_max_send_rate(FakeSes({"MaxSendRate": 14.0, "Max24HourSend": 50000.0})) == 14.0  # type: ignore[arg-type]
    assert read_max_send_rate(FakeSes({"MaxSendRate": 0.0})) is None  # type: ignore[arg-type]
    assert read_max_send_rate(FakeSes({})) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "failure",
    [
        ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetSendQuota"),
        ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"),
    ],
    ids=["access-denied", "timeout"],
)
def test_read_max_send_rate_says_none_when_ses_does_not_answer(failure: Exception) -> None:
    assert read_max_send_rate(FakeSes(failure)) is None  # type: ignore[arg-type]
