"""Validates an SQS message body against the email request contract and returns a typed EmailRequest."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import fastjsonschema

from groundskeeper.errors import INVALID_MESSAGE, PermanentError

MAX_RECIPIENTS = 50  # SES's limit per message, across To, Cc and Bcc

_ADDRESS = {"type": "string", "minLength": 3, "maxLength": 320}
_ADDRESSES = {"type": "array", "items": _ADDRESS, "maxItems": MAX_RECIPIENTS}

# additionalProperties false everywhere: a typo such as "bbc" must fail loudly, not drop recipients.
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

_validate_schema = fastjsonschema.compile(REQUEST_SCHEMA)

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


def address_problem(address: str) -> str | None:
    """Why `address` is not a usable bare email address (syntax only, no DNS), or None if it is."""
    plain = _PLAIN_ADDRESS.fullmatch(address)
    if (
        plain
        and len(address) <= _PLAIN_ADDRESS_MAX_LENGTH
        and plain.group("tld").lower() not in SPECIAL_USE_TLDS
    ):
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        # SES v1 cannot send to internationalised local parts (SMTPUTF8), so refuse them up front.
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; SES's JSON parser would not, after we had said yes.
    raise ValueError(f"{name} is not valid JSON")


def parse_email_request(body: str, default_sender: str) -> EmailRequest:
    """The request in `body`, or PermanentError(INVALID_MESSAGE, reason) naming the first problem found."""
    try:
        message = json.loads(body, parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError on odd bytes
        raise PermanentError(INVALID_MESSAGE, f"body is not JSON: {exc}") from None
    try:
        _validate_schema(message, name_prefix="message")
    except fastjsonschema.JsonSchemaValueException as exc:
        raise PermanentError(INVALID_MESSAGE, f"schema: {exc.message}") from None

    recipients = [*message["to"], *message.get("cc", []), *message.get("bcc", [])]
    if len(recipients) > MAX_RECIPIENTS:
        raise PermanentError(
            INVALID_MESSAGE, f"{len(recipients)} recipients in to+cc+bcc; at most {MAX_RECIPIENTS}"
        )
    sender = message.get("from") or default_sender
    if not sender:
        raise PermanentError(INVALID_MESSAGE, 'no "from" in the message and no SENDER_EMAIL configured')

    for field in ("to", "cc", "bcc", "reply_to"):
        for index, address in enumerate(message.get(field, [])):
            problem = address_problem(address)
            if problem:
                raise PermanentError(INVALID_MESSAGE, f"{field}[{index}]: {problem}")
    if "from" in message:
        problem = address_problem(sender)
        if problem:
            raise PermanentError(INVALID_MESSAGE, f"from: {problem}")

    return EmailRequest(
        template=message["template"],
        to=tuple(message["to"]),
        data=message["data"],
        sender=sender,
        cc=tuple(message.get("cc", ())),
        bcc=tuple(message.get("bcc", ())),
        reply_to=tuple(message.get("reply_to", ())),
        idempotency_key=message.get("idempotency_key"),
    )
