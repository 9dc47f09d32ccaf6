"""Hostile request bodies under moto: each is sent, normalised, or dead-lettered with its reason on the FIRST
receive. None may fail the same way on every receive and reach the DLQ after maxReceiveCount with no reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from email_sender import handler
from email_sender.errors import Outcome, SendingPaused
from email_sender.sender import Invocation
from groundskeeper.aws_clients import client
from groundskeeper.errors import TransientError
from tests.integration.email_sender.conftest import SenderWorld, welcome


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def with_data(data_json: str) -> str:
    """A welcome request whose data is the raw JSON text `data_json` (it may hold what json.dumps won't)."""
    return '{"template":"example-welcome","to":["ada@example.com"],"data":' + data_json + "}"


POISON: dict[str, tuple[str, str]] = {
    # body -> a phrase the DLQ reason must hold
    "an out-of-range float": (with_data('{"name":"Ada","product":"G","n":1e400}'), "out of range"),
    "an out-of-range negative float": (with_data('{"name":"Ada","product":"G","n":-1e400}'), "out of range"),
    "an out-of-range integer": (
        with_data('{"name":"Ada","product":"G","n":1' + "0" * 400 + "}"),
        "out of range",
    ),
    "a NaN literal": (with_data('{"name":"Ada","product":"G","n":NaN}'), "NaN"),
    "an Infinity literal": (with_data('{"name":"Ada","product":"G","n":-Infinity}'), "Infinity"),
    "100,000 open brackets": ("[" * 100_000, "nest"),
    "data nested 5,000 deep": (with_data('{"name":"Ada","product":"G","x":' + nested(5000) + "}"), "nest"),
    "data nested 900 deep": (with_data('{"name":"Ada","product":"G","x":' + nested(900) + "}"), "nest"),
    "a lone surrogate in a data key": (with_data('{"name":"Ada","product":"G","\\ud83c":1}'), "surrogate"),
    "a lone surrogate in the idempotency key": (
        json.dumps(welcome(idempotency_key="k-\ud83c")),
        "surrogate",
    ),
    "a lone surrogate in an address": (json.dumps(welcome("ada\udc00@example.com")), "surrogate"),
    "a non-ASCII local part": (json.dumps(welcome("bücher@example.com")), "before the @-sign"),
    "data beyond SES's TemplateData limit": (
        json.dumps(welcome(data={"name": "Ada", "product": "x" * 262_144})),
        "262144",
    ),
}


@pytest.mark.parametrize("case", list(POISON), ids=list(POISON))
def test_a_poison_body_is_dead_lettered_with_its_reason_on_the_first_receive(
    world: SenderWorld, case: str
) -> None:
    body, phrase = POISON[case]
    record = world.record(body)

    result = world.invoke(record)

    assert world.failed_ids(result) == [], "retried: it would fail the same way on every receive"
    assert world.sent() == []
    [(dead_body, attrs)] = world.dead_letters()
    assert dead_body == body  # the original, so a fixed copy can be redriven
    assert attrs["error_code"] == "InvalidMessage"
    assert phrase in attrs["error_message"]
    assert attrs["source_message_id"] == record["messageId"]


def test_a_lone_surrogate_in_data_is_sent_as_the_replacement_character(world: SenderWorld) -> None:
    # What truncating "Ada 🎉" between its two UTF-16 halves gives, in JavaScript.
    record = world.record(json.dumps(welcome(data={"name": "Ada \ud83c", "product": "G\udfff"})))

    assert world.failed_ids(world.invoke(record)) == []

    [sent] = world.sent()
    assert sent.subject == "Welcome to G\ufffd, Ada \ufffd!"
    assert world.dead_letters() == []


def test_a_paired_surrogate_escape_is_the_astral_character_and_left_alone(world: SenderWorld) -> None:
    record = world.record(json.dumps(welcome(data={"name": "Ada \U0001f389", "product": "G"})))

    assert world.failed_ids(world.invoke(record)) == []

    [sent] = world.sent()
    assert sent.subject == "Welcome to G, Ada \U0001f389!"


def test_unicode_domains_are_sent_in_punycode_for_every_address_field(world: SenderWorld) -> None:
    client("ses").verify_domain_identity(Domain="xn--bcher-kva.example")
    world.configure(allowed_senders=("alerts@bücher.example",))  # compared in its ASCII form
    message = welcome(
        "ada@bücher.example",
        cc=["bob@BÜCHER.example"],
        bcc=["eve@例え.jp"],
        reply_to=["help@bücher.example"],
        **{"from": "alerts@bücher.example"},
    )
    record = world.record(json.dumps(message, ensure_ascii=False))

    assert world.failed_ids(world.invoke(record)) == []

    [sent] = world.sent()
    assert sent.source == "alerts@xn--bcher-kva.example"
    assert sent.destinations == {
        "ToAddresses": ["ada@xn--bcher-kva.example"],
        "CcAddresses": ["bob@xn--bcher-kva.example"],
        "BccAddresses": ["eve@xn--r8jz45g.jp"],
    }
    assert world.dead_letters() == []


def test_a_plain_ascii_address_is_sent_exactly_as_written(world: SenderWorld) -> None:
    record = world.record(welcome("Ada.Lovelace+x@Mail.Example.com"))

    world.invoke(record)

    [sent] = world.sent()
    assert sent.destinations == {"ToAddresses": ["Ada.Lovelace+x@Mail.Example.com"]}


# --- property: whatever JSON-ish body arrives, the record handler never raises an uncoded error ---


class Raw(str):
    """A JSON literal written as is: what json.dumps will not produce (1e400, NaN, huge integers)."""


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(key)}:{dump(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(item) for item in value) + "]"
    return json.dumps(value)  # ensure_ascii: a lone surrogate travels as its \\uXXXX escape, as in SQS


HOSTILE_CHARS = st.one_of(
    st.characters(),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    st.sampled_from(["\x00", "\u202e", "\ufeff", "\ufffd", "\U0001f389", "{", "}", "<", "&", '"', "\\"]),
)
HOSTILE_TEXT = st.text(HOSTILE_CHARS, max_size=20)
RAW_NUMBERS = st.sampled_from(
    [Raw(n) for n in ["1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "1" + "0" * 400, "-0"]]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    HOSTILE_TEXT,
    RAW_NUMBERS,
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(HOSTILE_TEXT, inner, max_size=3)),
    max_leaves=12,
)
ADDRESSES = st.one_of(
    st.sampled_from(
        [
            "ada@example.com",
            "ada@bücher.example",
            "bücher@example.com",
            "ada\ud83c@example.com",
            "ada@exa\udfffmple.com",
            "ada@@example.com",
            "ada@xn--bcher-kva.example",
            "ada@" + "a" * 70 + ".com",
            "alerts@example.com",
        ]
    ),
    HOSTILE_TEXT.map(lambda text: f"{text}@example.com"),
    HOSTILE_TEXT,
)
REQUESTS = st.fixed_dictionaries(
    {
        "template": st.sampled_from(["example-welcome", "example-welcome", "not-bundled", "bad name", 7]),
        "to": st.lists(ADDRESSES, min_size=1, max_size=2),
        "data": st.one_of(
            st.fixed_dictionaries({"name": JSONISH, "product": JSONISH}),
            st.dictionaries(HOSTILE_TEXT, JSONISH),
        ),
    },
    optional={
        "cc": st.lists(ADDRESSES, max_size=2),
        "from": ADDRESSES,
        "reply_to": st.lists(ADDRESSES, min_size=1, max_size=1),
        "idempotency_key": HOSTILE_TEXT,
    },
)
# Nearly valid: what a real producer with hostile users sends; most of these are sent.
WELCOMES = st.builds(
    lambda to, name, product, extra: {
        "template": "example-welcome",
        "to": [to],
        "data": {"name": name, "product": product, **extra},
    },
    st.sampled_from(
        ["ada@example.com", "ada@bücher.example", "ada@xn--bcher-kva.example", "bücher@example.com"]
    ),
    HOSTILE_TEXT,
    st.one_of(HOSTILE_TEXT, RAW_NUMBERS, st.integers()),
    st.dictionaries(HOSTILE_TEXT, JSONISH, max_size=2),
)
BODIES = st.one_of(
    WELCOMES.map(dump),
    WELCOMES.map(dump),  # twice the weight: the sent path deserves its share of examples
    st.tuples(REQUESTS, st.dictionaries(HOSTILE_TEXT, JSONISH, max_size=1)).map(
        lambda r: dump({**r[0], **r[1]})
    ),
    JSONISH.map(dump),
    st.integers(min_value=1, max_value=20_000).map(lambda n: "[" * n),
    st.integers(min_value=1, max_value=3_000).map(
        lambda n: with_data('{"name":' + nested(n) + ',"product":1}')
    ),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),  # SQS never carries a raw surrogate
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_any_jsonish_body_is_sent_retried_with_a_code_or_dead_lettered_with_a_reason(
    world: SenderWorld, body: str
) -> None:
    record = world.record(body)
    handler.SENDER.deliver_batch({"Records": []}, world.lambda_context)  # registers the Lambda context
    invocation = Invocation(world.lambda_context)
    sent_before = len(world.sent())
    handle: Callable[[dict[str, Any], Invocation], Outcome] = handler.SENDER.handle

    try:
        outcome = handle(record, invocation)
    except (TransientError, SendingPaused) as exc:  # retried by SQS, with a code that says why
        assert exc.code
        event("retried")
        return
    event(str(outcome))

    dead = world.dead_letters()
    if outcome in (Outcome.SENT, Outcome.DUPLICATE):  # a duplicate: an idempotency key drawn twice
        assert len(world.sent()) == sent_before + (outcome == Outcome.SENT) and dead == []
    else:
        assert outcome == Outcome.DEAD_LETTERED
        [(dead_body, attrs)] = dead
        assert dead_body == body
        assert attrs["error_code"] and attrs["error_message"] not in ("", "-")
        event(f"dead_lettered {attrs['error_code']}: {attrs['error_message'][:40]}")
