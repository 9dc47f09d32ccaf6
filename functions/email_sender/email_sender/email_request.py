"""Validates an SQS message body against the email request contract and returns a typed EmailRequest."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import fastjsonschema

from email_sender.errors import INVALID_MESSAGE
from email_sender.request_validator import validate as _validate_schema
from groundskeeper.errors import PermanentError
from groundskeeper.observability import logger

MAX_RECIPIENTS = 50  # SES's limit per message, across To, Cc and Bcc
# SES's limit on TemplateData (SendTemplatedEmail API reference: "Maximum length of 262144"). Counted on the
# data as compact JSON, in UTF-16 code units (an emoji counts two), so it errs on the safe side.
MAX_DATA_CHARS = 262_144
# Arrays and objects nest at most this deep, counting the request object itself as 1 and data as 2. Real
# template data nests 3 or 4 deep; 32 keeps every recursive step (JSON, rendering) far from Python's limit.
MAX_NESTING = 32

_ADDRESS = {"type": "string", "minLength": 3, "maxLength": 320}
_ADDRESSES = {"type": "array", "items": _ADDRESS, "maxItems": MAX_RECIPIENTS}

# additionalProperties false everywhere: a typo such as "bbc" must fail loudly, not drop recipients.
# Checked by request_validator.py, the code fastjsonschema generates from it, shipped so that no cold start
# compiles it (scripts/generate_request_validator.py; a test fails when the two differ).
REQUEST_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Groundskeeper email request",
    "type": "object",
    "additionalProperties": False,
    "required": ["template", "to", "data"],
    "properties": {
        # SES template names: letters, digits, underscores and hyphens, at most 64 characters.
        "template": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "to": {**_ADDRESSES, "minItems": 1},
        "cc": _ADDRESSES,
        "bcc": _ADDRESSES,
        "data": {"type": "object"},
        "from": _ADDRESS,
        "reply_to": {**_ADDRESSES, "minItems": 1},
        "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 256},
    },
}

# A plain address: an ASCII dot-atom local part of at most 64 characters, then hostname labels (no "--",
# which IDNA reserves) and a letters-only top-level domain that is not special-use. email-validator accepts
# every such address (a property test holds the two together), so these skip it; importing it costs about
# 20 ms of regex compiling, at the cold start of a sender that rarely sees anything else.
_PLAIN_ADDRESS = re.compile(
    r"(?=[^@]{1,64}@)[A-Za-z0-9_+=-]+(?:\.[A-Za-z0-9_+=-]+)*"
    r"@(?:(?!-)(?:(?!--)[A-Za-z0-9-]){1,63}(?<!-)\.)+(?P<tld>[A-Za-z]{2,63})"
)
_PLAIN_ADDRESS_MAX_LENGTH = 254
# email-validator's SPECIAL_USE_DOMAIN_NAMES, as top-level domains (a test checks the two agree).
SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


@dataclass(frozen=True)
class EmailRequest:
    template: str
    to: tuple[str, ...]
    data: dict[str, Any]
    sender: str
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    idempotency_key: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        """Everything that decides what is sent: a reused idempotency key with a different one is a bug."""
        return {
            "template": self.template,
            "to": list(self.to),
            "cc": list(self.cc),
            "bcc": list(self.bcc),
            "data": self.data,
            "from": self.sender,
            "reply_to": list(self.reply_to),
        }


class AddressError(ValueError):
    """An address SES cannot take; the message says why."""


def ascii_address(address: str) -> str:
    """`address` as SES takes it: 7-bit ASCII, a Unicode domain in Punycode; AddressError if it has none.

    SES has no SMTPUTF8 (RFC 6531), so a non-ASCII local part has no ASCII form and is refused. A plain ASCII
    address is returned exactly as written.
    """
    plain = _PLAIN_ADDRESS.fullmatch(address)
    if (
        plain
        and len(address) <= _PLAIN_ADDRESS_MAX_LENGTH
        and plain.group("tld").lower() not in SPECIAL_USE_TLDS
    ):
        return address
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressError(str(exc)) from None
    if not checked.ascii_email:  # not reached with allow_smtputf8=False; typed Optional all the same
        raise AddressError("the address has no 7-bit ASCII form")
    return checked.ascii_email


def address_problem(address: str) -> str | None:
    """Why `address` is not a usable bare email address (syntax only, no DNS), or None if it is."""
    try:
        ascii_address(address)
    except AddressError as exc:
        return str(exc)
    return None


class _Refused(ValueError):
    """A JSON literal that parses but that SES could not take back: the reason is the whole message."""


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; SES's JSON parser would not, after we had said yes.
    raise ValueError(f"{name} is not valid JSON")


_LARGEST_DOUBLE = sys.float_info.max
_DOUBLE_DIGITS = len(str(int(_LARGEST_DOUBLE)))  # 309
_OUT_OF_RANGE = "is out of range: JSON numbers must fit a double (at most 1.8e308 in size)"


def _finite_float(literal: str) -> float:
    # Python reads 1e400 as inf, which json.dumps then writes as Infinity: not JSON.
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"number {_abridged(literal)} {_OUT_OF_RANGE}")
    return value


def _double_sized_int(literal: str) -> int:
    # 310 digits or more cannot fit; checking first also spares int() its 4300-digit ValueError.
    if len(literal.lstrip("-")) > _DOUBLE_DIGITS or abs(int(literal)) > _LARGEST_DOUBLE:
        raise _Refused(f"number {_abridged(literal)} {_OUT_OF_RANGE}")
    return int(literal)


def _abridged(literal: str) -> str:
    return literal if len(literal) <= 24 else f"{literal[:20]}...({len(literal)} characters)"


_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_AS_PARENTHESES = str.maketrans("[{]}", "(())")


def _nesting_problem(body: str) -> str | None:
    """Why `body` nests too deep to parse safely, or None: no recursion, and C-speed string operations."""
    too_deep = f"arrays and objects nest deeper than {MAX_NESTING} levels"
    if body.count("[") + body.count("{") <= MAX_NESTING:
        return None
    # The brackets outside strings: without escaped backslashes and quotes, every other piece between quotes.
    # Up to a first syntax error this reads the text as json.loads does, so it sees at least the depth that
    # json.loads would recurse to.
    outside = "".join(body.replace("\\\\", "").replace('\\"', "").split('"')[::2])
    levels = _NOT_BRACKETS.sub("", outside).translate(_AS_PARENTHESES)
    if "(" * (MAX_NESTING + 1) in levels:
        return too_deep
    # Each pass drops the innermost pairs, which lowers the depth by exactly one; shallow data ends empty.
    remains = levels
    for _ in range(MAX_NESTING):
        if not remains:
            return None
        remains = remains.replace("()", "")
    if not remains:
        return None
    # Deeper than MAX_NESTING, or unbalanced (then json.loads says why): count to tell which.
    depth = 0
    for level in levels:
        depth += 1 if level == "(" else -1
        if depth > MAX_NESTING:
            return too_deep
    return None


REPLACEMENT_CHARACTER = "\N{REPLACEMENT CHARACTER}"
# After json.loads a surrogate pair is one character; any surrogate left is a lone half, not valid UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# What SQS cannot carry in a message attribute (anything but XML 1.0 characters: #x9 | #xA | #xD |
# [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]) is escaped in a reason. Written as the few ranges
# outside those, not as a negated class: compiling that one cost 10-17 ms of every cold start.
_NOT_SQS_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _invalid(reason: str) -> PermanentError:
    """An InvalidMessage whose reason SQS can carry as the DLQ message's attribute, whatever it quotes."""
    return PermanentError(INVALID_MESSAGE, _NOT_SQS_TEXT.sub(lambda m: f"U+{ord(m.group()):04X}", reason))


def _surrogate_problem(path: str, text: str) -> str:
    lone = _SURROGATE.search(text)
    code = f"U+{ord(lone.group()):04X}" if lone else "?"
    return f"{path}: lone UTF-16 surrogate {code} (half of a character cut in two?): not valid UTF-8"


def _without_lone_surrogates(value: Any, path: str, replaced: list[str]) -> Any:
    """`value` (inside data) with each lone surrogate of a string made U+FFFD; a key with one is refused.

    U+FFFD is what a UTF-8 encoder that meets a lone surrogate writes (WHATWG TextEncoder, JavaScript's), so
    "Ada \\ud83c" (an emoji cut in half) reads "Ada \\ufffd" instead of the email never being sent.
    """
    if isinstance(value, str):
        if value.isascii() or not _SURROGATE.search(value):
            return value
        replaced.append(path)
        return _SURROGATE.sub(REPLACEMENT_CHARACTER, value)
    if isinstance(value, list):
        return [
            _without_lone_surrogates(item, f"{path}[{index}]", replaced) for index, item in enumerate(value)
        ]
    if isinstance(value, dict):
        clean = {}
        for key, item in value.items():
            if not key.isascii() and _SURROGATE.search(key):
                raise _invalid(_surrogate_problem(f"a key in {path}", key))
            clean[key] = _without_lone_surrogates(item, f"{path}.{key}", replaced)
        return clean
    return value


def _lone_surrogate_outside_data(message: dict[str, Any]) -> str | None:
    """Why a field outside data holds a lone surrogate (an address, a key: no stand-in is right), or None."""
    for field, value in message.items():
        if not field.isascii() and _SURROGATE.search(field):
            return _surrogate_problem("a key in the message", field)
        if field == "data":
            continue
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            if isinstance(item, str) and not item.isascii() and _SURROGATE.search(item):
                return _surrogate_problem(field if index is None else f"{field}[{index}]", item)
    return None


def _template_data(data: dict[str, Any]) -> str:
    """`data` as SES's TemplateData would carry it: compact JSON, not ASCII-escaped."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _utf16_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_email_request(body: str, default_sender: str) -> EmailRequest:
    """The request in `body`, or PermanentError(INVALID_MESSAGE, reason) naming the first problem found.

    Refused: what SES could not take back, or what would fail on every attempt (docs/email-sender.md,
    "Request validation"). Normalised: a lone surrogate in a data string becomes U+FFFD; an address is sent
    in its ASCII form.
    """
    nesting = _nesting_problem(body)
    if nesting:
        raise _invalid(nesting)
    try:
        message = json.loads(
            body, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_double_sized_int
        )
    except _Refused as exc:
        raise _invalid(str(exc)) from None
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError on odd bytes
        raise _invalid(f"body is not JSON: {exc}") from None
    # Before the schema and the address checks: their reasons may quote what they refuse.
    if isinstance(message, dict):
        surrogate = _lone_surrogate_outside_data(message)
        if surrogate:
            raise _invalid(surrogate)
    try:
        _validate_schema(message, name_prefix="message")
    except fastjsonschema.JsonSchemaValueException as exc:
        raise _invalid(f"schema: {exc.message}") from None
    data = message["data"]
    template_data = _template_data(data)
    size = _utf16_length(template_data)
    if size > MAX_DATA_CHARS:
        raise _invalid(
            f"data is {size} characters as JSON; SES's TemplateData takes at most {MAX_DATA_CHARS}"
        )
    if not template_data.isascii() and _SURROGATE.search(template_data):  # rare: walk only then
        replaced: list[str] = []
        data = _without_lone_surrogates(data, "data", replaced)
        # The paths, not the values: a value may be personal data.
        logger.warning("lone surrogates in data replaced with U+FFFD", extra={"normalised": replaced[:20]})

    recipients = [*message["to"], *message.get("cc", []), *message.get("bcc", [])]
    if len(recipients) > MAX_RECIPIENTS:
        raise _invalid(f"{len(recipients)} recipients in to+cc+bcc; at most {MAX_RECIPIENTS}")
    sender = message.get("from") or default_sender
    if not sender:
        raise _invalid('no "from" in the message and no SENDER_EMAIL configured')

    addresses: dict[str, tuple[str, ...]] = {}
    for field in ("to", "cc", "bcc", "reply_to"):
        addresses[field] = tuple(
            _ascii_field(f"{field}[{index}]", address) for index, address in enumerate(message.get(field, []))
        )
    # SENDER_EMAIL was checked at cold start, so only a "from" of the message can fail here.
    sender = _ascii_field("from", sender)

    return EmailRequest(
        template=message["template"],
        to=addresses["to"],
        data=data,
        sender=sender,
        cc=addresses["cc"],
        bcc=addresses["bcc"],
        reply_to=addresses["reply_to"],
        idempotency_key=message.get("idempotency_key"),
    )


def _ascii_field(where: str, address: str) -> str:
    try:
        return ascii_address(address)
    except AddressError as exc:
        raise _invalid(f"{where}: {exc}") from None
