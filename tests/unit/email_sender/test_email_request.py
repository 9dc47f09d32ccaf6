"""The email request contract: JSON, schema, addresses, recipient limits, and the notify layer's output."""

from __future__ import annotations

import json
import re
import sys
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from email_sender import email_request as email_request_module
from email_sender.email_request import (
    MAX_DATA_CHARS,
    MAX_RECIPIENTS,
    SPECIAL_USE_TLDS,
    EmailRequest,
    _invalid,
    address_problem,
    ascii_address,
    parse_email_request,
)
from groundskeeper.errors import PermanentError
from groundskeeper.notify import email_request

SENDER = "alerts@example.com"
VALID: dict[str, Any] = {
    "template": "cors-finding",
    "to": ["ops@example.com"],
    "data": {"bucket": "b"},
}


def parse(message: Any, default_sender: str = SENDER) -> EmailRequest:
    return parse_email_request(json.dumps(message), default_sender)


def reason_of(message: Any, default_sender: str = SENDER) -> str:
    with pytest.raises(PermanentError) as caught:
        parse(message, default_sender)
    assert caught.value.code == "InvalidMessage"
    return caught.value.message


def test_minimal_request_uses_the_configured_sender() -> None:
    request = parse(VALID)
    assert request == EmailRequest(
        template="cors-finding", to=("ops@example.com",), data={"bucket": "b"}, sender=SENDER
    )


def test_full_request_keeps_every_field() -> None:
    message = {
        **VALID,
        "cc": ["a@example.com"],
        "bcc": ["b@example.com"],
        "from": "other@example.com",
        "reply_to": ["reply@example.com"],
        "idempotency_key": "k-1",
        "data": {"n": 7, "nested": {"x": [1, None]}},
    }
    request = parse(message)
    assert request.sender == "other@example.com"
    assert (request.cc, request.bcc, request.reply_to) == (
        ("a@example.com",),
        ("b@example.com",),
        ("reply@example.com",),
    )
    assert request.idempotency_key == "k-1"
    assert request.data == {"n": 7, "nested": {"x": [1, None]}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("not json", "not JSON"),
        ("", "not JSON"),
        ('{"template": "x", "to": ["a@example.com"], "data": {"n": NaN}}', "not JSON"),
        ("[]", "must be object"),
    ],
)
def test_bodies_that_are_not_json_objects(body: str, expected: str) -> None:
    with pytest.raises(PermanentError) as caught:
        parse_email_request(body, SENDER)
    assert caught.value.code == "InvalidMessage"
    assert expected in caught.value.message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"bcc_typo": 1}, "must not contain {'bcc_typo'}"),
        ({"to": []}, "message.to must contain at least 1 items"),
        ({"to": "ops@example.com"}, "message.to must be array"),
        ({"data": []}, "message.data must be object"),
        ({"template": "has space"}, "message.template must match pattern"),
        ({"template": "x" * 65}, "message.template must match pattern"),
        ({"idempotency_key": ""}, "message.idempotency_key must be longer than or equal to 1"),
        ({"reply_to": []}, "message.reply_to must contain at least 1 items"),
        ({"to": ["not-an-address"]}, "to[0]: "),
        ({"cc": ["ok@example.com", "a..b@example.com"]}, "cc[1]: "),
        ({"from": "Alerts <alerts@example.com>"}, "from: "),
        ({"reply_to": ["x@localhost"]}, "reply_to[0]: "),
    ],
)
def test_invalid_requests_name_the_problem(change: dict[str, Any], expected: str) -> None:
    assert expected in reason_of({**VALID, **change})


@pytest.mark.parametrize("missing", ["template", "to", "data"])
def test_required_fields(missing: str) -> None:
    message = {k: v for k, v in VALID.items() if k != missing}
    assert "must contain" in reason_of(message)


def test_at_most_fifty_recipients_across_to_cc_and_bcc() -> None:
    addresses = [f"user{i}@example.com" for i in range(MAX_RECIPIENTS)]
    fifty = parse({**VALID, "to": addresses[:20], "cc": addresses[20:40], "bcc": addresses[40:]})
    assert [*fifty.to, *fifty.cc, *fifty.bcc] == addresses
    too_many = {
        **VALID,
        "to": addresses[:20],
        "cc": addresses[20:40],
        "bcc": [*addresses[40:], "x@example.com"],
    }
    assert "51 recipients" in reason_of(too_many)


@pytest.mark.parametrize("field", ["to", "cc", "bcc", "reply_to"])
@pytest.mark.parametrize("item", [123, None, ["a@example.com"], {"address": "a@example.com"}])
def test_a_recipient_that_is_not_a_string_is_an_invalid_message_not_a_crash(field: str, item: Any) -> None:
    # Not a TypeError from the address check: that would retry a poison message until the DLQ.
    assert reason_of({**VALID, field: [item]}) == f"schema: message.{field}[0] must be string"


def test_from_that_is_not_a_string_is_an_invalid_message() -> None:
    assert reason_of({**VALID, "from": 7}) == "schema: message.from must be string"


def address_of_length(length: int) -> str:
    return "a" * (length - len("@example.com")) + "@example.com"


@pytest.mark.parametrize("field", ["to", "cc", "bcc", "reply_to", "from"])
def test_address_length_bounds_are_3_and_320(field: str) -> None:
    def with_address(address: str) -> dict[str, Any]:
        return {**VALID, field: address if field == "from" else [address]}

    where = field if field == "from" else f"{field}[0]"
    # Within the schema's bounds an address reaches the syntax check, which names it (a 64+ local part)...
    assert reason_of(with_address(address_of_length(320))).startswith(f"{where}: ")
    assert reason_of(with_address("a@b")).startswith(f"{where}: ")
    # ...one character outside, the schema refuses it first.
    assert reason_of(with_address(address_of_length(321))) == (
        f"schema: message.{where} must be shorter than or equal to 320 characters"
    )
    assert (
        reason_of(with_address("ab"))
        == f"schema: message.{where} must be longer than or equal to 3 characters"
    )


def test_idempotency_key_is_at_most_256_characters() -> None:
    assert parse({**VALID, "idempotency_key": "k" * 256}).idempotency_key == "k" * 256
    assert parse({**VALID, "idempotency_key": "k"}).idempotency_key == "k"
    assert reason_of({**VALID, "idempotency_key": "k" * 257}) == (
        "schema: message.idempotency_key must be shorter than or equal to 256 characters"
    )


def test_template_name_is_at_most_64_characters() -> None:
    assert parse({**VALID, "template": "t" * 64}).template == "t" * 64
    assert reason_of({**VALID, "template": "t" * 65}).startswith(
        "schema: message.template must match pattern"
    )


@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
def test_each_recipient_list_holds_at_most_fifty(field: str) -> None:
    addresses = [f"user{i}@example.com" for i in range(MAX_RECIPIENTS + 1)]
    message = {**VALID, field: addresses}
    assert reason_of(message) == f"schema: message.{field} must contain less than or equal to 50 items"


def test_no_from_and_no_sender_email_is_invalid() -> None:
    assert "SENDER_EMAIL" in reason_of(VALID, default_sender="")
    assert parse({**VALID, "from": "me@example.com"}, default_sender="").sender == "me@example.com"


def test_address_problem_is_syntax_only() -> None:
    assert address_problem("someone@example.com") is None
    # Syntax only: no deliverability (DNS) check.
    assert address_problem("someone@surely-unregistered-groundskeeper-domain.com") is None
    assert address_problem("ü@example.com")  # SES v1 cannot send SMTPUTF8
    assert address_problem("two@@example.com")


# --- the layer's producer output is valid input (contract test) ------------------------------------------


def test_notify_email_request_validates_against_the_schema() -> None:
    full = email_request(
        "eip-janitor-report",
        ["ops@example.com", "oncall@example.com"],
        {"dry_run": "true", "released_count": "0"},
        idempotency_key="eip-janitor-report-run-1",
        sender="alerts@example.com",
        reply_to=["owner@example.com"],
    )
    request = parse_email_request(json.dumps(full), "")
    assert request.template == "eip-janitor-report"
    assert request.idempotency_key == "eip-janitor-report-run-1"
    minimal = email_request("cors-finding", ["ops@example.com"], {"bucket": "b"})
    assert parse_email_request(json.dumps(minimal, sort_keys=True), SENDER).sender == SENDER


# --- property: a single mutation of a valid body is either still valid or rejected as InvalidMessage -------

_OPTIONAL = {
    "cc": ["cc@example.com"],
    "bcc": ["bcc@example.com"],
    "from": "from@example.com",
    "reply_to": ["reply@example.com"],
    "idempotency_key": "key",
}
_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


@st.composite
def nearly_valid_bodies(draw: st.DrawFn) -> tuple[str, dict[str, Any] | None]:
    """A valid body with one field removed, retyped, added or corrupted; the message too when still JSON."""
    message: dict[str, Any] = dict(VALID)
    for key in draw(st.lists(st.sampled_from(sorted(_OPTIONAL)), unique=True)):
        message[key] = _OPTIONAL[key]
    mutation = draw(st.sampled_from(["drop", "retype", "extra", "address", "truncate"]))
    if mutation == "drop":
        message.pop(draw(st.sampled_from(sorted(message))))
    elif mutation == "retype":
        message[draw(st.sampled_from(sorted(message)))] = draw(_junk)
    elif mutation == "extra":
        message[draw(st.text(min_size=1, max_size=10))] = draw(_junk)
    elif mutation == "address":
        field = draw(st.sampled_from([k for k in ("to", "cc", "bcc", "reply_to") if k in message]))
        message[field] = [draw(st.text(max_size=30))]
    body = json.dumps(message)
    if mutation == "truncate":
        return body[: draw(st.integers(min_value=0, max_value=len(body) - 1))], None
    return body, message


REASON = re.compile(
    r"body is not JSON: |schema: message|\d+ recipients in |(to|cc|bcc|reply_to)\[\d+\]: |from: "
)


@settings(max_examples=400, deadline=None)
@given(nearly_valid_bodies())
def test_nearly_valid_bodies_are_accepted_only_when_they_fit_the_contract(case: tuple[str, Any]) -> None:
    body, message = case
    try:
        request = parse_email_request(body, SENDER)
    except PermanentError as exc:
        assert exc.code == "InvalidMessage"
        # The DLQ's reason names the problem; a cut-off body is never mistaken for valid JSON.
        assert REASON.match(exc.message), exc.message
        if message is None:
            assert exc.message.startswith("body is not JSON: ")
        return
    # Accepted: then it really is a well-formed request with nothing dropped.
    assert message is not None
    assert set(message) <= {"template", "to", "data", *_OPTIONAL}
    assert {"template", "to", "data"} <= set(message)
    assert all(address_problem(a) is None for a in request.to)
    assert request == EmailRequest(
        template=message["template"],
        to=tuple(message["to"]),
        data=message["data"],
        sender=message.get("from") or SENDER,
        cc=tuple(message.get("cc", ())),
        bcc=tuple(message.get("bcc", ())),
        reply_to=tuple(message.get("reply_to", ())),
        idempotency_key=message.get("idempotency_key"),
    )
    assert len(request.to) + len(request.cc) + len(request.bcc) <= MAX_RECIPIENTS


# The plain-address fast path must accept only what email-validator accepts.
_ATOM = st.text(alphabet="abcxyzABZ019_+=-", min_size=1, max_size=12)
_LABEL = st.text(alphabet="abz09-", min_size=1, max_size=12)
_TLD = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzAZ", min_size=1, max_size=8),
    st.sampled_from(sorted(SPECIAL_USE_TLDS)),
)
_LOOKS_PLAIN = st.builds(
    lambda local, labels, tld: ".".join(local) + "@" + ".".join([*labels, tld]),
    st.lists(_ATOM, min_size=1, max_size=8),
    st.lists(_LABEL, min_size=1, max_size=6),
    _TLD,
)


def validator_problem(address: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


@settings(max_examples=1500, deadline=None)
@given(address=st.one_of(_LOOKS_PLAIN, st.emails(), st.text(max_size=30)))
def test_the_plain_address_fast_path_agrees_with_email_validator(address: str) -> None:
    assert (address_problem(address) is None) == (validator_problem(address) is None)


@pytest.mark.parametrize(
    "address",
    [
        "a@b-.com",
        "a@-b.com",
        "a@ab--cd.com",
        "a@xn--abc.com",
        "a.@b.com",
        "a..b@c.com",
        "a@b.c",
        "a@b.c0m",
        "a@b.test",
        "a@sub.b.onion",
        "a@localhost",
        f"{'a' * 65}@b.com",
        f"a@{'b' * 64}.com",
        f"a@{'b.' * 124}com",  # 254 + more characters
    ],
)
def test_addresses_near_the_fast_paths_edges_are_judged_as_email_validator_does(address: str) -> None:
    assert (address_problem(address) is None) == (validator_problem(address) is None)


def test_the_fast_path_excludes_every_special_use_domain_of_email_validator() -> None:
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    assert {name.rsplit(".", 1)[-1] for name in SPECIAL_USE_DOMAIN_NAMES} <= SPECIAL_USE_TLDS


def test_a_plain_address_does_not_import_email_validator() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import sys; from email_sender.email_request import address_problem; "
        "assert address_problem('ada.lovelace+x@mail.example.com') is None; "
        "print('email_validator' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "False"


# --- what mutation testing found unpinned ----------------------------------------------------------------


def body_with_data(data_json: str, **fields: Any) -> str:
    head = json.dumps({"template": "t", "to": ["ada@example.com"], **fields})
    return head[:-1] + ',"data":' + data_json + "}"


def reason_of_body(body: str) -> str:
    with pytest.raises(PermanentError) as caught:
        parse_email_request(body, SENDER)
    assert caught.value.code == "InvalidMessage"
    return caught.value.message


def test_the_fingerprint_names_every_field_that_decides_what_is_sent() -> None:
    request = parse(
        {
            **VALID,
            "cc": ["c@example.com"],
            "bcc": ["b@example.com"],
            "from": "f@example.com",
            "reply_to": ["r@example.com"],
            "idempotency_key": "k",
        }
    )
    assert request.fingerprint() == {
        "template": "cors-finding",
        "to": ["ops@example.com"],
        "cc": ["c@example.com"],
        "bcc": ["b@example.com"],
        "data": {"bucket": "b"},
        "from": "f@example.com",
        "reply_to": ["r@example.com"],
    }


OUT_OF_RANGE = "is out of range: JSON numbers must fit a double (at most 1.8e308 in size)"


@pytest.mark.parametrize(
    ("literal", "shown"),
    [
        ("1e400", "1e400"),
        ("-1e400", "-1e400"),
        ("2" + "0" * 308, "20000000000000000000...(309 characters)"),  # 309 digits, above the largest double
        ("-2" + "0" * 308, "-2000000000000000000...(310 characters)"),
        ("1" + "0" * 309, "10000000000000000000...(310 characters)"),  # 310 digits: refused by length alone
        ("1" * 24 + "e999", "11111111111111111111...(28 characters)"),
        ("9" * 20 + "e999", "99999999999999999999e999"),  # 24 characters: shown whole
        ("9" * 21 + "e999", "99999999999999999999...(25 characters)"),
    ],
)
def test_a_number_beyond_a_double_is_refused_with_the_number_abridged(literal: str, shown: str) -> None:
    assert reason_of_body(body_with_data(f'{{"n": {literal}}}')) == f"number {shown} {OUT_OF_RANGE}"


def test_the_largest_integers_a_double_holds_are_kept() -> None:
    for literal in ("1" + "0" * 308, "-1" + "0" * 308, str(int(sys.float_info.max))):
        assert parse_email_request(body_with_data(f'{{"n": {literal}}}'), SENDER).data == {"n": int(literal)}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (body_with_data("{}", **{"x\ud800": 1}), "a key in the message: lone UTF-16 surrogate U+D800"),
        (body_with_data("{}", **{"from": "a\udc01@example.com"}), "from: lone UTF-16 surrogate U+DC01"),
        (
            body_with_data("{}", cc=["ok@example.com", "a\ud800@example.com"]),
            "cc[1]: lone UTF-16 surrogate U+D800",
        ),
        (body_with_data('{"k\\ud800": 1}'), "a key in data: lone UTF-16 surrogate U+D800"),
        (body_with_data('{"a": [{"k\\udfff": 1}]}'), "a key in data.a[0]: lone UTF-16 surrogate U+DFFF"),
    ],
)
def test_a_lone_surrogate_outside_data_values_is_refused_naming_where(body: str, reason: str) -> None:
    assert reason_of_body(body) == f"{reason} (half of a character cut in two?): not valid UTF-8"


def test_a_lone_surrogate_in_data_is_replaced_and_the_paths_logged_never_the_values() -> None:
    body = body_with_data(
        '{"name": "Ada \\ud83c", "l": ["\\udfff", "é"], "d": {"x": "ok é"}}', cc=["a@example.com"]
    )
    with patch.object(email_request_module.logger, "warning") as warning:
        request = parse_email_request(body, SENDER)
    assert request.data == {"name": "Ada \ufffd", "l": ["\ufffd", "é"], "d": {"x": "ok é"}}
    warning.assert_called_once_with(
        "lone surrogates in data replaced with U+FFFD", extra={"normalised": ["data.name", "data.l[0]"]}
    )


def test_at_most_twenty_paths_are_logged() -> None:
    body = body_with_data(json.dumps({f"k{i}": "\ud800" for i in range(25)}))
    with patch.object(email_request_module.logger, "warning") as warning:
        parse_email_request(body, SENDER)
    assert warning.call_args.kwargs["extra"]["normalised"] == [f"data.k{i}" for i in range(20)]


@pytest.mark.parametrize("data", ['{"s": "plain"}', '{"s": "é ü 🎉"}'])
def test_data_without_a_lone_surrogate_logs_nothing(data: str) -> None:
    with patch.object(email_request_module.logger, "warning") as warning:
        parse_email_request(body_with_data(data), SENDER)
    warning.assert_not_called()


@pytest.mark.parametrize(
    ("fill", "unit"),
    [("a", 1), ("é", 1), ("🎉", 2)],  # SES counts UTF-16 code units: an emoji is two
)
def test_the_templatedata_limit_counts_utf16_code_units_of_compact_json(fill: str, unit: int) -> None:
    overhead = len('{"s":""}')
    room = (MAX_DATA_CHARS - overhead) // unit
    assert parse_email_request(body_with_data(json.dumps({"s": fill * room})), SENDER).data == {
        "s": fill * room
    }
    over = overhead + (room + 1) * unit
    reason = reason_of_body(body_with_data(json.dumps({"s": fill * (room + 1)})))
    assert reason == f"data is {over} characters as JSON; SES's TemplateData takes at most {MAX_DATA_CHARS}"


def test_compact_json_is_what_counts_towards_the_limit() -> None:
    # Many short items: the ", " and ": " of json.dumps's default would take it over the limit.
    items = (MAX_DATA_CHARS - 20) // 2
    data = {"l": [1] * items}
    size = len(json.dumps(data, separators=(",", ":")))
    assert size <= MAX_DATA_CHARS < len(json.dumps(data))
    assert parse_email_request(body_with_data(json.dumps(data)), SENDER).data == data


def test_a_reason_quoting_a_control_character_names_it_instead() -> None:
    reason = reason_of({**VALID, "to": ["a\x01b@example.com"]})
    assert reason.startswith("to[0]: ")
    assert "U+0001" in reason
    assert "\x01" not in reason


def test_an_address_problem_is_the_validators_reason() -> None:
    assert (
        address_problem("two@@example.com") == "The part after the @-sign contains invalid characters: '@'."
    )


def test_the_plain_address_fast_path_ends_at_254_characters() -> None:
    # Above 254 characters the validator decides (and refuses): the fast path must not say yes first.
    address = "a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 57]) + ".com"
    assert len(address) == 254
    assert address_problem(address) is None
    assert address_problem("a" + address) is not None


def test_no_from_and_no_sender_says_so() -> None:
    assert reason_of(VALID, default_sender="") == 'no "from" in the message and no SENDER_EMAIL configured'


def test_a_lone_surrogate_is_looked_for_in_every_field_after_data_too() -> None:
    body = '{"template": "t", "data": {}, "to": ["a\\ud800@example.com"]}'
    assert reason_of_body(body).startswith("to[0]: lone UTF-16 surrogate U+D800")


def test_data_that_is_not_an_object_is_a_schema_error_even_with_a_lone_surrogate() -> None:
    assert reason_of_body(body_with_data('"\\ud800"')) == "schema: message.data must be object"


def test_a_non_ascii_key_in_data_is_kept_while_a_lone_surrogate_beside_it_is_replaced() -> None:
    request = parse_email_request(body_with_data('{"é": "x\\ud800"}'), SENDER)
    assert request.data == {"é": "x\ufffd"}


def test_a_reason_sqs_could_not_carry_names_each_character_instead() -> None:
    # No reason quotes raw text today (the validator already writes U+0001); this is the last line of defence.
    assert _invalid("bad \x00 and \ufffe, fine \t é").message == "bad U+0000 and U+FFFE, fine \t é"


def test_the_characters_escaped_in_a_reason_are_exactly_those_outside_xml_1_0() -> None:
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    xml_char = re.compile(r"[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
    outside = xml_char.sub("", every)
    assert "".join(email_request_module._NOT_SQS_TEXT.findall(every)) == outside
    assert len(outside) == 29 + 2048 + 2  # C0 controls but tab, LF and CR; surrogates; U+FFFE and U+FFFF


def test_the_fast_path_returns_a_254_character_address_exactly_as_written() -> None:
    address = "A" * 64 + "@" + ".".join(["B" * 63, "C" * 63, "D" * 57]) + ".COM"
    assert ascii_address(address) == address  # the validator would have lower-cased the domain


def test_a_cut_body_exactly_32_deep_is_not_json_rather_than_too_deep() -> None:
    body = '{"x": [[], []], "data": ' + "[" * 31  # 35 brackets, 32 levels at most, never closed
    assert reason_of_body(body).startswith("body is not JSON: ")
