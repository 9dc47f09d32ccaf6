"""1,000 messages with throttling, invalid bodies and redeliveries: nothing lost, nothing sent twice."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from typing import Any

from tests.integration.email_sender.conftest import SenderWorld, welcome

TOTAL = 1000
BATCH = 10


def invalid_body(rng: random.Random, index: int) -> tuple[str, str]:
    """(body, expected error_code) for one of the ways a request goes wrong."""
    to = f"bad{index}@example.com"
    kind = rng.choice(["json", "field", "address", "variable", "template"])
    if kind == "json":
        return '{"template": "example-welcome", "to": [', "InvalidMessage"
    if kind == "field":
        return json.dumps({**welcome(to), "bcc_typo": ["x@example.com"]}), "InvalidMessage"
    if kind == "address":
        return json.dumps(welcome(f"bad{index}@@example.com")), "InvalidMessage"
    if kind == "variable":
        return json.dumps({"template": "example-welcome", "to": [to], "data": {"name": "x"}}), (
            "MissingRenderingAttribute"
        )
    return json.dumps({"template": "not-bundled", "to": [to], "data": {}}), "TemplateDoesNotExist"


def test_thousand_messages_nothing_lost_nothing_duplicated(world: SenderWorld) -> None:
    assert world.settings.send_concurrency == 10  # each batch's records are delivered at once
    rng = random.Random(20261122)
    valid: dict[str, str] = {}  # message id -> recipient
    invalid: dict[str, str] = {}  # message id -> expected error code
    records: list[dict[str, Any]] = []
    for index in range(TOTAL):
        if rng.random() < 0.05:
            body, code = invalid_body(rng, index)
            record = world.record(body)
            invalid[record["messageId"]] = code
        else:
            to = f"user{index}@example.com"
            record = world.record(welcome(to, **({"idempotency_key": f"k{index}"} if index % 2 else {})))
            valid[record["messageId"]] = to
        records.append(record)
    # 5% redelivered duplicates: the same SQS message (id and body) arriving again later.
    # Each copy lands somewhere after its original, sometimes in the same batch.
    queue = list(records)
    redelivered = [rng.choice(records) for _ in range(TOTAL // 20)]
    for copy in redelivered:
        queue.insert(rng.randint(queue.index(copy) + 1, len(queue)), copy)

    throttled = Counter[str]()
    lock = threading.Lock()  # the handler sends from up to SEND_CONCURRENCY threads at once

    def throttle(params: dict[str, Any]) -> tuple[str, str, int] | None:
        with lock:
            if rng.random() < 0.10:
                throttled[params["Destination"]["ToAddresses"][0]] += 1
                return ("Throttling", "Maximum sending rate exceeded.", 400)
        return None

    world.fail_ses("SendEmail", throttle)

    rounds = 0
    while queue:  # SQS: whatever is in batchItemFailures comes back later
        rounds += 1
        assert rounds < 500, "the queue does not drain"
        batch, queue = queue[:BATCH], queue[BATCH:]
        failed = set(world.failed_ids(world.invoke(*batch)))
        queue += [record for record in batch if record["messageId"] in failed]

    delivered = Counter(message.destinations["ToAddresses"][0] for message in world.sent())
    assert sum(throttled.values()) > 50  # the faults really happened
    assert set(delivered) == set(valid.values()), "lost"
    assert max(delivered.values()) == 1, "duplicated"
    dead_letters = world.dead_letters()
    dead = {attrs["source_message_id"]: attrs["error_code"] for _, attrs in dead_letters}
    assert dead == invalid  # every invalid one, with its reason
    # A permanent failure leaves no idempotency record (so a fixed message can be redriven), hence an
    # invalid message that SQS delivers twice is dead-lettered twice: at least once into the DLQ.
    copies = Counter(attrs["source_message_id"] for _, attrs in dead_letters)
    delivered_invalid = Counter(r["messageId"] for r in records + redelivered if r["messageId"] in invalid)
    assert copies == delivered_invalid
