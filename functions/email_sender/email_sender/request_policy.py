"""What producers may ask for: the From addresses and the templates the sender accepts, enforced in code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from email_sender.errors import INVALID_MESSAGE
from groundskeeper.errors import PermanentError

if TYPE_CHECKING:
    from email_sender.email_request import EmailRequest


@dataclass(frozen=True)
class RequestPolicy:
    """The limits IAM sets on the account, checked before any AWS call, with a reason a producer can act on.

    `senders`: the From addresses allowed (SENDER_EMAIL and ALLOWED_SENDERS), compared exactly, as IAM's
    `ses:FromAddress` StringEquals does. `templates`: names, or prefixes ending in `*`; empty allows any
    template. `always_allowed`: the bundled templates, which the project's own functions send.
    """

    senders: frozenset[str]
    templates: tuple[str, ...] = ()
    always_allowed: frozenset[str] = frozenset()

    def check(self, request: EmailRequest) -> None:
        """PermanentError(INVALID_MESSAGE) if `request` asks for a sender or a template it may not use."""
        if request.sender not in self.senders:
            allowed = ", ".join(sorted(self.senders)) or "none configured"
            raise PermanentError(
                INVALID_MESSAGE, f'"from" {request.sender} is not an allowed sender (allowed: {allowed})'
            )
        if not self.template_allowed(request.template):
            allowed = ", ".join(self.templates)
            raise PermanentError(
                INVALID_MESSAGE, f"template {request.template} is not allowed (ALLOWED_TEMPLATES: {allowed})"
            )

    def template_allowed(self, name: str) -> bool:
        if not self.templates or name in self.always_allowed:
            return True
        return any(
            name.startswith(entry[:-1]) if entry.endswith("*") else name == entry for entry in self.templates
        )
