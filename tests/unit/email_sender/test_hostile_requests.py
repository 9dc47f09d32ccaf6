"""Hostile request bodies at the parsing boundary: normalised, or refused with a reason; never raised."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from email_sender.email_request import (
    MAX_DATA_CHARS,
    MAX_NESTING,
    EmailRequest,
    ascii_address,
    parse_email_request,
)
from email_sender.errors import INVALID_MESSAGE
from groundskeeper.errors import PermanentError

SENDER = "alerts@example.com"
# What SQS can carry in a body or an attribute: XML 1.0's characters (a reason travels as an attribute).
SQS_TEXT = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def body_with(data_json: str, **fields: Any) -> str:
    head = json.dumps({"template": "t", "to": ["ada@example.com"], **fields})
    return head[:-1] + ',"data":' + data_json + "}"


def reason_of(body: str) -> str:
    with pytest.raises(PermanentError) as caught:
        parse_email_request(body, SENDER)
    assert caught.value.code == INVALID_MESSAGE
    return caught.value.message


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- lone surrogates ---


def test_lone_surrogates_in_data_values_become_the_replacement_character() -> None:
    body = json.dumps(
        {
            "template": "t",
            "to": ["ada@example.com"],
            "data": {"name": "Ada \ud83c", "items": [{"x": "\udfff!"}, "ok"], "n": 1},
        }
    )
    request = parse_email_request(body, SENDER)
    assert request.data == {"name": "Ada \ufffd", "items": [{"x": "\ufffd!"}, "ok"], "n": 1}
    json.dumps(request.data, ensure_ascii=False).encode("utf-8")  # what SES gets is valid UTF-8


def test_a_surrogate_pair_is_one_character_and_kept() -> None:
    request = parse_email_request(body_with('{"name":"Ada \\ud83c\\udf89"}'), SENDER)
    assert request.data == {"name": "Ada \U0001f389"}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (body_with('{"\\ud83c":1}'), "a key in data"),
        (body_with('{"a":{"b\\udc00":1}}'), "a key in data.a"),
        (body_with("{}", idempotency_key="k\ud83c"), "idempotency_key"),
        (body_with("{}", to=["ada\ud83c@example.com"]), "to[0]"),
        (body_with("{}", cc=["ada@exa\udfffmple.com"]), "cc[0]"),
        (body_with("{}", **{"from": "\ud800@example.com"}), "from"),
        (body_with("{}", template="t\ud83c"), "template"),
    ],
)
def test_lone_surrogates_in_keys_and_identifiers_are_refused_with_where(body: str, where: str) -> None:
    reason = reason_of(body)
    assert "lone UTF-16 surrogate" in reason and where in reason
    assert SQS_TEXT.fullmatch(reason)


# --- numbers ---


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "1" + "0" * 400, "-" + "9" * 309, "1.5e308000"])
def test_numbers_beyond_a_double_are_refused(literal: str) -> None:
    reason = reason_of(body_with('{"n":' + literal + "}"))
    assert "out of range" in reason


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_not_json(literal: str) -> None:
    assert literal in reason_of(body_with('{"n":' + literal + "}"))


def test_numbers_within_a_double_are_kept_and_underflow_is_zero() -> None:
    data = '{"a":1.7976931348623157e308,"b":-1e-400,"c":' + "9" * 300 + ',"d":12345678901234567890}'
    request = parse_email_request(body_with(data), SENDER)
    assert request.data == {
        "a": 1.7976931348623157e308,
        "b": -0.0,
        "c": int("9" * 300),
        "d": 12345678901234567890,
    }
    json.dumps(request.data, allow_nan=False)


# --- nesting and size ---


def test_nesting_up_to_the_limit_is_accepted_and_one_more_is_refused() -> None:
    # The request object is level 1 and data level 2: data may hold MAX_NESTING - 2 more levels.
    parse_email_request(body_with("{" + '"x":' + nested(MAX_NESTING - 2) + "}"), SENDER)
    reason = reason_of(body_with("{" + '"x":' + nested(MAX_NESTING - 1) + "}"))
    assert f"deeper than {MAX_NESTING}" in reason


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,
        "{" * 100_000,
        '{"a":' * 100_000,
        body_with('{"x":' + nested(5000) + "}"),
        body_with('{"x":' + nested(900) + "}"),
    ],
    ids=["brackets", "braces", "objects", "5000 deep", "900 deep"],
)
def test_deep_bodies_are_refused_without_recursion(body: str) -> None:
    assert "nest" in reason_of(body)


@pytest.mark.parametrize("depth", [33, 40, 64, 65, 200])
def test_every_depth_beyond_the_limit_is_refused(depth: int) -> None:
    assert f"deeper than {MAX_NESTING}" in reason_of(body_with('{"x":' + nested(depth - 2) + "}"))


@settings(max_examples=200, deadline=None)
@given(
    depth=st.integers(0, 80),
    filler=st.text(st.sampled_from(["[", "]", "{", "}", '"', "\\", "a", "é"]), max_size=12),
)
def test_nesting_is_judged_on_structure_whatever_the_strings_hold(depth: int, filler: str) -> None:
    # Strings full of brackets, quotes and backslashes at every level: only the real arrays count.
    value: Any = filler
    for _ in range(depth):
        value = [filler, value, {filler: filler}]
    body = body_with(json.dumps({"x": value}))
    levels = 2 + depth + (1 if depth else 0)  # the request, data, the lists, and the innermost {filler: ...}
    if levels > MAX_NESTING:
        assert "nest deeper" in reason_of(body)
    else:
        assert parse_email_request(body, SENDER).data == {"x": value}


def test_a_truncated_body_is_not_json_rather_than_too_deep() -> None:
    # Many brackets (past the cheap count), shallow, cut in the middle: unbalanced, yet only 4 deep.
    body = body_with(json.dumps({"x": [[index, {"y": "]"}] for index in range(40)]}))
    assert reason_of(body[: len(body) // 2]).startswith("body is not JSON")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = "[{" * 1000 + '\\"[' + "\\\\"
    request = parse_email_request(body_with(json.dumps({"s": text})), SENDER)
    assert request.data == {"s": json.loads(json.dumps(text))}


def test_data_up_to_the_templatedata_limit_is_accepted_and_one_more_character_is_refused() -> None:
    overhead = len('{"s":""}')
    parse_email_request(body_with(json.dumps({"s": "é" * (MAX_DATA_CHARS - overhead)})), SENDER)
    reason = reason_of(body_with(json.dumps({"s": "é" * (MAX_DATA_CHARS - overhead + 1)})))
    assert str(MAX_DATA_CHARS) in reason


# --- addresses ---


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("ada@example.com", "ada@example.com"),
        ("Ada.Lovelace+x@Mail.Example.COM", "Ada.Lovelace+x@Mail.Example.COM"),  # the fast path: as written
        ("ada@bücher.example", "ada@xn--bcher-kva.example"),
        ("ada@BÜCHER.example", "ada@xn--bcher-kva.example"),
        ("eve@例え.jp", "eve@xn--r8jz45g.jp"),
        ("ada@xn--bcher-kva.example", "ada@xn--bcher-kva.example"),
    ],
)
def test_ascii_address_is_what_ses_accepts(address: str, expected: str) -> None:
    assert ascii_address(address) == expected


def test_every_address_field_is_sent_in_its_ascii_form() -> None:
    message = {
        "template": "t",
        "to": ["ada@bücher.example"],
        "cc": ["bob@bücher.example"],
        "bcc": ["eve@例え.jp"],
        "reply_to": ["help@bücher.example"],
        "from": "alerts@bücher.example",
        "data": {},
    }
    request = parse_email_request(json.dumps(message, ensure_ascii=False), SENDER)
    assert request.to == ("ada@xn--bcher-kva.example",)
    assert request.cc == ("bob@xn--bcher-kva.example",)
    assert request.bcc == ("eve@xn--r8jz45g.jp",)
    assert request.reply_to == ("help@xn--bcher-kva.example",)
    assert request.sender == "alerts@xn--bcher-kva.example"


def test_a_unicode_default_sender_is_sent_in_its_ascii_form_too() -> None:
    body = json.dumps({"template": "t", "to": ["ada@example.com"], "data": {}})
    assert parse_email_request(body, "alerts@bücher.example").sender == "alerts@xn--bcher-kva.example"


def test_a_non_ascii_local_part_is_refused_because_ses_has_no_smtputf8() -> None:
    reason = reason_of(body_with("{}", to=["bücher@example.com"]))
    assert reason.startswith("to[0]: ") and "before the @-sign" in reason


def test_a_reason_quoting_a_control_character_is_still_sqs_text() -> None:
    reason = reason_of(body_with("{}", to=["a\x00\x01@example.com"]))
    assert SQS_TEXT.fullmatch(reason)


# --- property: any body is an EmailRequest SES can take, or an InvalidMessage with a reason SQS can carry ---


class Raw(str):
    """A JSON literal written as is: what json.dumps will not produce (1e400, NaN, huge integers)."""


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(key)}:{dump(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(item) for item in value) + "]"
    return json.dumps(value)


CHARS = st.one_of(
    st.characters(),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    st.sampled_from(["\x00", "\u202e", "\ufeff", "\U0001f389", "ü", "例", "@", ".", "[", "{", '"', "\\"]),
)
TEXT = st.text(CHARS, max_size=16)
RAW = st.sampled_from(
    [Raw(n) for n in ["1e400", "-1e400", "1e-400", "NaN", "-Infinity", "1" + "0" * 400, "-0"]]
)
JSONISH = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT, RAW
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=15,
)
ADDRESS = st.one_of(
    st.sampled_from(["ada@example.com", "ada@bücher.example", "bücher@example.com", "ada@例え.jp"]),
    st.tuples(TEXT, TEXT).map(lambda parts: f"{parts[0]}@{parts[1]}.com"),
    TEXT,
)
REQUEST = st.fixed_dictionaries(
    {
        "template": st.sampled_from(["t", "a b", 1]),
        "to": st.lists(ADDRESS, min_size=1, max_size=3),
        "data": JSONISH,
    },
    optional={
        "cc": st.lists(ADDRESS, max_size=2),
        "bcc": st.lists(ADDRESS, max_size=2),
        "reply_to": st.lists(ADDRESS, max_size=2),
        "from": ADDRESS,
        "idempotency_key": TEXT,
    },
)
BODY = st.one_of(
    # A request, plus maybe a field the contract doesn't know.
    st.tuples(REQUEST, st.dictionaries(TEXT, JSONISH, max_size=1)).map(lambda r: dump({**r[0], **r[1]})),
    JSONISH.map(dump),
    st.integers(1, 50_000).map(lambda n: "[" * n),
    st.integers(1, 2_000).map(lambda n: body_with(nested(n))),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=60),
)


@settings(max_examples=500, deadline=None)
@given(BODY)
def test_any_body_is_a_request_ses_can_take_or_an_invalid_message_sqs_can_carry(body: str) -> None:
    try:
        request = parse_email_request(body, SENDER)
    except PermanentError as exc:
        assert exc.code == INVALID_MESSAGE
        assert exc.message and SQS_TEXT.fullmatch(exc.message)
        return
    assert isinstance(request, EmailRequest)
    data = json.dumps(request.data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    data.encode("utf-8")
    assert len(data) <= MAX_DATA_CHARS
    for address in (*request.to, *request.cc, *request.bcc, *request.reply_to, request.sender):
        assert address.isascii()
    if request.idempotency_key is not None:
        request.idempotency_key.encode("utf-8")
