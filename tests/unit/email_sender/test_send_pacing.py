"""The send pacer: sends spaced under the account's rate share, the quota read once, a safe fallback."""

from __future__ import annotations

import logging
import math
import threading
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
    assert (raised.value.code, raised.value.message) == (
        DEADLINE_NEAR,
        "the send rate leaves no turn before the deadline",
    )
    sleeps = len(time.sleeps)
    time.now += 1 / RATE_HEADROOM
    p.wait_for_turn(1, time_left=0.0)  # the refused turn was not reserved: this one is due now
    assert len(time.sleeps) == sleeps


# An account quota whose 95 % is exactly 2.0/s in binary floating point: slots of exactly 0.5 s, so the
# boundaries below are met exactly, not within a rounding error.
QUOTA_FOR_2_PER_SECOND = 2.105263157894737


def test_the_quota_for_2_per_second_paces_exactly_half_a_second_apart() -> None:
    time = FakeTime()
    send_times(pacer(Quota(QUOTA_FOR_2_PER_SECOND), time), time, 3)
    assert time.sleeps == [0.5, 0.5]


def test_a_turn_exactly_the_time_left_away_is_taken_and_one_just_over_is_refused() -> None:
    time = FakeTime()
    p = pacer(Quota(QUOTA_FOR_2_PER_SECOND), time)
    p.wait_for_turn(1)
    with pytest.raises(TransientError):
        p.wait_for_turn(1, time_left=math.nextafter(0.5, 0.0))
    p.wait_for_turn(1, time_left=0.5)
    assert time.sleeps == [0.5]


def test_a_turn_at_most_half_a_second_late_keeps_the_cadence() -> None:
    """Exactly CATCH_UP_SECONDS (0.5 s) late, at a slot of exactly 0.5 s: still a stream of sends."""
    time = FakeTime()
    p = pacer(Quota(QUOTA_FOR_2_PER_SECOND), time)
    send_times(p, time, 2)  # slots at 1000.0 and 1000.5; the next one is due at 1001.0
    time.now = 1001.5  # 0.5 s late: the turn makes up one slot
    assert send_times(p, time, 2) == [1001.5, 1001.5]
    time.now = 1002.25  # 0.25 s late
    assert send_times(p, time, 2) == [1002.25, 1002.5]


def test_a_turn_more_than_half_a_second_late_restarts_the_cadence() -> None:
    time, quota = FakeTime(), Quota(20.0)
    p = pacer(quota, time)
    send_times(p, time, 2)
    time.now += 0.75  # later than 0.5 s after the next slot, even counting that slot
    times = send_times(p, time, 2)
    assert times[1] - times[0] == pytest.approx(1 / 19.0)


def test_at_a_quota_of_10_per_second_a_sender_alone_sends_every_1_over_9_5_seconds() -> None:
    """5 % headroom under the quota; a pacer told of no other sender (no `share`) takes the whole rate."""
    time = FakeTime()
    p = SendPacer(Quota(10.0), clock=time.clock, sleep=time.sleep)
    send_times(p, time, 3)
    assert time.sleeps == pytest.approx([1 / 9.5, 1 / 9.5])


def test_without_the_quota_the_pace_is_one_per_second_and_the_quota_is_asked_again_after_300_s() -> None:
    time, quota = FakeTime(), Quota(None, 50.0)
    p = pacer(quota, time)
    send_times(p, time, 2)  # the second send asked, at 1000.0, and was refused
    assert time.sleeps == pytest.approx([1 / 0.95])
    time.now = math.nextafter(1300.0, 0.0)
    p.wait_for_turn(1)
    assert quota.calls == 1
    time.now = 1300.0
    p.wait_for_turn(1)
    assert quota.calls == 2


def test_an_account_rate_of_one_per_second_is_kept_like_any_rate_read() -> None:
    """SES's sandbox quota, 1/s, is an answer: GetSendQuota is not asked again 300 s later."""
    calls: list[float | None] = []

    def read_rate() -> float | None:
        calls.append(read_max_send_rate(FakeSes({"MaxSendRate": 1.0})))  # type: ignore[arg-type]
        return calls[-1]

    time = FakeTime()
    p = SendPacer(read_rate, clock=time.clock, sleep=time.sleep)
    send_times(p, time, 2)
    time.now += 10 * QUOTA_RETRY_SECONDS
    send_times(p, time, 2)
    assert calls == [1.0]


def test_no_wait_means_no_deadline_check() -> None:
    time, quota = FakeTime(), Quota(1.0)
    p = pacer(quota, time)
    p.wait_for_turn(1, time_left=-1.0)
    time.now += 100
    p.wait_for_turn(1, time_left=-1.0)
    assert time.sleeps == []


def test_threads_share_one_pace() -> None:
    """12 sends from 4 threads at 40/s: the turns are 12 slots one after another, not 3 sends per slot.

    The clock stands still, so each turn is when its thread would wake: now plus the sleep it was given.
    """
    time = FakeTime()
    lock = threading.Lock()
    turns: list[float] = []

    def sleep(seconds: float) -> None:
        with lock:
            turns.append(time.now + seconds)

    p = SendPacer(lambda: 40.0 / RATE_HEADROOM, clock=time.clock, sleep=sleep)
    p.wait_for_turn(1)  # the first send goes at once: no sleep
    start = threading.Barrier(4, timeout=10)

    def send_three() -> None:
        start.wait()
        for _ in range(3):
            p.wait_for_turn(1)

    threads = [threading.Thread(target=send_three) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(turns) == pytest.approx([1000.0 + k / 40 for k in range(1, 13)])


class FakeSes:
    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer

    def get_send_quota(self) -> dict[str, Any]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_read_max_send_rate() -> None:
    assert read_max_send_rate(FakeSes({"MaxSendRate": 14.0, "Max24HourSend": 50000.0})) == 14.0  # type: ignore[arg-type]
    assert read_max_send_rate(FakeSes({"MaxSendRate": 1.0})) == 1.0  # type: ignore[arg-type]
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


def test_a_failed_quota_read_is_logged_with_the_aws_error_code(caplog: pytest.LogCaptureFixture) -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetSendQuota")
    with caplog.at_level(logging.WARNING):
        read_max_send_rate(FakeSes(denied))  # type: ignore[arg-type]
    [line] = [r for r in caplog.records if r.getMessage().startswith("GetSendQuota failed")]
    assert line.getMessage() == "GetSendQuota failed; pacing at the fallback rate"
    assert (line.levelno, getattr(line, "error_code", None)) == (logging.WARNING, "AccessDenied")
