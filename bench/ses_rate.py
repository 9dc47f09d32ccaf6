"""SES-rate: how much of an account's SES maximum send rate the senders deliver, with several at once.

SES accepts at most N recipients per second for the whole account and answers `Throttling` "Maximum
sending rate exceeded" above it. Here a token bucket shared by every sender (N tokens a second, at most
one second's worth saved) answers in SES's place at `before-send` for each SendEmail over the
rate; GetSendQuota says N, so a sender can pace itself.

SENDERS processes run at once, as the event source mapping's maximum concurrency allows (each its own
container: its own import, clients and pacer), each invoking the real handler on its own batches. A record
the handler reports as failed comes back after the rest of that sender's backlog, as SQS redelivers it,
until the queue's maxReceiveCount sends it to the dead-letter queue (counted as lost).

Run: `python -m bench.ses_rate` (from the repo root; starts its own moto server).
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter, deque
from typing import Any

from bench.email_sender import BATCH, TEMPLATE_ENV, bodies, handler_clients, seed_world, sent, sqs_events
from bench.harness import RTT, SES_NAMESPACE, answer_send_quota, instrument, row, ses_answer
from scripts.pipeline.moto_server import MotoServer
from tests.lambda_context import FakeLambdaContext

QUOTA = 20.0  # N: the account's maximum send rate, emails (one recipient each) per second
SENDERS = 2  # template.yaml's SenderMaxConcurrency default
RATE_SHARE = SENDERS  # SEND_RATE_SHARE, which the template sets to SenderMaxConcurrency
MESSAGES_PER_SENDER = 150
MAX_RECEIVES = 5  # template.yaml's maxReceiveCount for the email queue
THROTTLED_XML = (
    f'<ErrorResponse xmlns="{SES_NAMESPACE}"><Error><Type>Sender</Type><Code>Throttling</Code>'
    "<Message>Maximum sending rate exceeded.</Message></Error><RequestId>bench</RequestId></ErrorResponse>"
)


class SendRateLimit:
    """The account's send rate as a token bucket in shared memory, so every sender process draws on it."""

    def __init__(self, context: Any, rate: float) -> None:
        self.rate = rate
        self._lock = context.Lock()
        self._tokens = context.Value("d", rate, lock=False)
        self._stamp = context.Value("d", 0.0, lock=False)
        self.allowed = context.Value("i", 0, lock=False)
        self.throttled = context.Value("i", 0, lock=False)
        self.first_allowed = context.Value("d", 0.0, lock=False)  # when SES took the first send, and the last
        self.last_allowed = context.Value("d", 0.0, lock=False)

    def take(self, recipients: int = 1) -> bool:
        with self._lock:
            now = time.monotonic()
            elapsed = now - self._stamp.value if self._stamp.value else 0.0
            self._stamp.value = now
            self._tokens.value = min(self.rate, self._tokens.value + elapsed * self.rate)
            if self._tokens.value >= recipients:
                self._tokens.value -= recipients
                self.allowed.value += 1
                self.first_allowed.value = self.first_allowed.value or now
                self.last_allowed.value = now
                return True
            self.throttled.value += 1
            return False

    def guard(self, ses: Any) -> None:
        """Answer this client's sends over the rate with SES's Throttling error, after one round trip."""

        def over_the_rate(request: Any, **_: Any) -> Any:
            if self.take():
                return None  # sent to moto, after the round trip instrument() adds
            time.sleep(RTT)
            return ses_answer(400, THROTTLED_XML)

        for operation in ("SendEmail", "SendTemplatedEmail"):  # the handler's send, and a templated one
            ses.meta.events.register(f"before-send.ses.{operation}", over_the_rate)


def _sender(
    work: tuple[int, list[str]], env: dict[str, str], limit: SendRateLimit, ready: Any, results: Any
) -> None:
    """One sender container: cold start, then its batches, with SQS's redelivery of what it reports failed.

    As SQS does: a record in batchItemFailures (or every record of an invocation that raised) comes back
    with its receive count one higher, after the rest of the backlog (its visibility timeout, compressed);
    one that fails on the queue's maxReceiveCount-th receive is moved by the redrive policy to the DLQ with
    no reason (counted as redriven: the handler should dead-letter it itself first, with its reason).
    """
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - the logs and EMF blobs, for the process's life
    os.environ.update(env)
    from email_sender import handler
    from groundskeeper.observability import logger

    logger.setLevel("ERROR")  # a throttled send logs a warning; the counts say it
    # The container's sender, built at import: its own clients get the quota, the bucket and the round trip.
    every, ses_clients = handler_clients(handler.SENDER)
    for ses in ses_clients:
        answer_send_quota(ses, limit.rate)
        limit.guard(ses)
    calls: Counter[str] = Counter()
    for aws in every:
        instrument(aws, calls, RTT)
    backlog = deque(record for event in sqs_events(work[1], work[0]) for record in event["Records"])
    receives: Counter[str] = Counter()
    redelivered = redriven = crashed = 0
    ready.wait()
    started = time.monotonic()
    while backlog:
        batch = [backlog.popleft() for _ in range(min(BATCH, len(backlog)))]
        for record in batch:
            receives[record["messageId"]] += 1
            record["attributes"]["ApproximateReceiveCount"] = str(receives[record["messageId"]])
        try:
            response = handler.lambda_handler({"Records": batch}, FakeLambdaContext())
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        except Exception:  # noqa: BLE001 - a failed invocation: SQS redelivers the whole batch
            crashed += 1
            failed = {record["messageId"] for record in batch}
        for record in batch:
            if record["messageId"] not in failed:
                continue
            if receives[record["messageId"]] >= MAX_RECEIVES:
                redriven += 1
            else:
                redelivered += 1
                backlog.append(record)
    results.put(
        (started, time.monotonic(), redelivered, redriven, crashed, calls["GetSendQuota"], calls["SendEmail"])
    )


def measure(moto: MotoServer) -> list[dict[str, Any]]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    dlq = seed_world(moto)
    limit = SendRateLimit(context, QUOTA)
    ready, results = context.Barrier(SENDERS + 1), context.Queue()
    env = {
        **TEMPLATE_ENV,
        "AWS_ENDPOINT_URL": moto.endpoint,
        "DEAD_LETTER_QUEUE_URL": dlq,
        "SEND_RATE_SHARE": str(RATE_SHARE),
        "MAX_RECEIVE_COUNT": str(MAX_RECEIVES),
    }
    # Message ids and recipients are unique across senders: each sender gets its own slice.
    everything = bodies(SENDERS * MESSAGES_PER_SENDER)
    processes = [
        context.Process(
            target=_sender,
            args=((first, everything[first : first + MESSAGES_PER_SENDER]), env, limit, ready, results),
        )
        for first in range(0, SENDERS * MESSAGES_PER_SENDER, MESSAGES_PER_SENDER)
    ]
    for process in processes:
        process.start()
    ready.wait(timeout=120)  # every sender has had its cold start
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    started = min(outcome[0] for outcome in outcomes)
    finished = max(outcome[1] for outcome in outcomes)
    redelivered, redriven, crashed, quota_reads, send_calls = (
        sum(outcome[k] for outcome in outcomes) for k in range(2, 7)
    )
    dead_lettered = int(
        moto.client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
    )

    recipients = Counter(
        address
        for message in sent(moto)
        for address in message.get("destinations", {}).get("ToAddresses", [])
    )
    expected = SENDERS * MESSAGES_PER_SENDER
    delivered = sum(recipients.values())
    lost = expected - len(recipients) - dead_lettered  # neither delivered nor in the DLQ with a reason
    duplicated = delivered - len(recipients)
    sends = limit.allowed.value + limit.throttled.value
    # Every SendEmail met the bucket and the round trip, or the figures below mean nothing.
    assert send_calls == sends and limit.allowed.value == delivered, (send_calls, sends, delivered)
    throttled = limit.throttled.value / sends if sends else 0.0
    rate = delivered / (finished - started)
    window = limit.last_allowed.value - limit.first_allowed.value
    steady = (delivered - 1) / window if window > 0 else 0.0
    setup = (
        f"{SENDERS} senders at once, {expected} emails, SEND_CONCURRENCY={TEMPLATE_ENV['SEND_CONCURRENCY']}"
    )
    return [
        row(
            "SES1",
            f"emails/s delivered under an SES quota of {QUOTA:.0f}/s ({setup})",
            rate,
            QUOTA,
            unit="emails/s",
            note=f"goal >= 0.9x; from the senders' start to the last batch's end; first to last send: "
            f"{steady:.2f}/s ({steady / QUOTA:.3f}x); lost {lost}, duplicated {duplicated} (goal 0 and 0); "
            f"{redelivered} redeliveries, {dead_lettered} dead-lettered, {redriven} redriven without a "
            f"reason, {crashed} failed invocations; {quota_reads} GetSendQuota calls; "
            f"{RTT * 1000:.0f} ms round trip",
        ),
        row(
            "SES2",
            f"throttled SES sends, fraction of all {sends} sends (same run)",
            throttled,
            0.05,
            unit="fraction",
            note=f"goal <= 1.0x (5% of sends); {limit.throttled.value} throttled by the simulated quota",
        ),
    ]


def run() -> list[dict[str, Any]]:
    moto = MotoServer.spawn()
    try:
        return measure(moto)
    finally:
        moto.stop()


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
