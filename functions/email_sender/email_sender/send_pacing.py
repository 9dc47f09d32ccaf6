"""Paces a container's SES sends under its share of the account's maximum send rate (GetSendQuota).

SES counts the rate in recipients per second, across every sender of the account; above it a send fails
with `Throttling` "Maximum sending rate exceeded". Each container spaces its sends so that it uses at most
MaxSendRate / `share` of it, where `share` is how many senders may run at once (the event source mapping's
maximum concurrency, SEND_RATE_SHARE). The record threads of one container share one pacer.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from email_sender.errors import DEADLINE_NEAR
from groundskeeper.errors import NETWORK_ERRORS, TransientError, error_code
from groundskeeper.observability import logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_ses import SESClient

# When GetSendQuota fails (no permission, an outage): SES's sandbox rate, the lowest an account has, ...
FALLBACK_SEND_RATE = 1.0
# ...until the quota is asked again. A quota that was read is kept for the container's life.
QUOTA_RETRY_SECONDS = 300.0
# Spacing sends at exactly the rate would let network jitter bunch two of them into one second's window.
RATE_HEADROOM = 0.95
# A turn asked for a little after its slot (the next batch's first record arrives a few round trips after
# the last send of the one before) keeps the cadence: the slots after it are counted from up to one slot
# back instead of from now. Without it every batch lost those round trips (~5 % of the rate at 9.5 emails/s).
# So at most two sends come closer than a slot. Only within a stream of sends (asked within this long of the
# slot; after a pause the cadence restarts, with no burst), and only where a slot is this short: at slow
# rates (SES's sandbox 1/s) the extra send would not fit SES's one-second window.
CATCH_UP_SECONDS = 0.5


def read_max_send_rate(ses: SESClient) -> float | None:
    """The account's maximum send rate (recipients per second), or None if SES would not say."""
    try:
        rate = float(ses.get_send_quota().get("MaxSendRate", 0))
    except (ClientError, *NETWORK_ERRORS) as exc:
        logger.warning(
            "GetSendQuota failed; pacing at the fallback rate", extra={"error_code": error_code(exc)}
        )
        return None
    return rate if rate > 0 else None


class SendPacer:
    """Spaces sends `recipients / rate` seconds apart, across threads, with no burst.

    A container's first send goes at once without asking the rate: any account allows one email per second,
    so a container that sends one email never calls GetSendQuota. The rate is read at the second send.
    A turn taken a little late makes up at most one slot of the time it missed (CATCH_UP_SECONDS).
    """

    def __init__(
        self,
        read_rate: Callable[[], float | None],
        *,
        share: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._read_rate = read_rate
        self._share = share
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate: float | None = None
        self._reread_at: float | None = None  # set while the rate is the fallback
        self._first_send: tuple[float, int] | None = None  # (when, recipients) while no rate is known
        self._free_at = float("-inf")  # when the sends reserved so far have drained at the rate

    def wait_for_turn(self, recipients: int, time_left: float | None = None) -> None:
        """Wait until `recipients` may be sent to; TransientError DeadlineNear if over `time_left` s away."""
        with self._lock:
            now = self._clock()
            if self._rate is None and self._first_send is None:
                self._first_send = (now, recipients)
                return
            rate = self._rate_at(now)
            if self._first_send is not None:
                sent_at, sent_to = self._first_send
                self._free_at = sent_at + sent_to / rate
                self._first_send = None
            start = max(now, self._free_at)
            if start > now and time_left is not None and start - now > time_left:
                raise TransientError(DEADLINE_NEAR, "the send rate leaves no turn before the deadline")
            self._free_at = start - self._catch_up(now, rate) + recipients / rate
        if start > now:
            self._sleep(start - now)

    def _catch_up(self, now: float, rate: float) -> float:
        """How much of the time since the last slot this turn makes up (see CATCH_UP_SECONDS)."""
        late, slot = now - self._free_at, 1 / rate
        if late <= 0 or late > CATCH_UP_SECONDS or slot > CATCH_UP_SECONDS:
            return 0.0
        return min(late, slot)

    def _rate_at(self, now: float) -> float:
        if self._rate is None or (self._reread_at is not None and now >= self._reread_at):
            account_rate = self._read_rate()
            self._reread_at = None if account_rate else now + QUOTA_RETRY_SECONDS
            self._rate = (account_rate or FALLBACK_SEND_RATE) * RATE_HEADROOM / self._share
        return self._rate
