"""The email request contract: JSON, schema, addresses, recipient limits, and the notify layer's output."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from email_sender.email_request import (
    MAX_RECIPIENTS,
    SPECIAL_USE_TLDS,
    EmailRequest,
    address_problem,
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
