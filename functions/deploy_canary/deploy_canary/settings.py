"""The canary's settings, read from the environment once at cold start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from groundskeeper.errors import SettingsError
from groundskeeper.settings import Setting

# arn:<partition>:lambda:<region>:<account>:function:<name>:<version>, a published version (a number).
_VERSION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[A-Za-z0-9_-]{1,64}):\d+"
)

CANARY_SENDER_VERSION = Setting(
    "CANARY_SENDER_VERSION",
    "",
    "the email sender's version a deploy is about to shift traffic to (the version ARN SAM publishes); the "
    "canary invokes it, and IAM lets it invoke nothing else",
    required=True,
)
CANARY_RECORDS_TABLE = Setting(
    "CANARY_RECORDS_TABLE",
    "",
    "the sender's idempotency table (the stack's IdempotencyTable): the canary reads its request's record "
    "there, which must say sent; empty = the batch response alone is checked",
)
SPECS = (CANARY_SENDER_VERSION, CANARY_RECORDS_TABLE)


@dataclass(frozen=True)
class CanarySettings:
    sender_version_arn: str
    # The name in the ARN: the sender's idempotency keys start with it.
    sender_function_name: str
    records_table: str = CANARY_RECORDS_TABLE.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CanarySettings:
        arn = CANARY_SENDER_VERSION.read(environ)
        match = _VERSION_ARN.fullmatch(arn)
        if match is None:
            raise SettingsError(
                CANARY_SENDER_VERSION.env,
                f"must be a published Lambda version's ARN (...:function:<name>:<number>); got {arn!r}",
            )
        return cls(
            sender_version_arn=arn,
            sender_function_name=match["name"],
            records_table=CANARY_RECORDS_TABLE.read(environ),
        )
