"""The email sender's vocabulary: the outcome of each request, its error codes, and its own two errors.

It mirrors the outcome table of docs/email-sender.md ("Error codes"): every code a record can end with is
a constant here, grouped by the outcome it leads to. The base classes (PermanentError, TransientError) and
AWS's retryable codes are the layer's (groundskeeper.errors), shared with every function.
"""

from __future__ import annotations

from enum import StrEnum

from groundskeeper.errors import CodedError


class Outcome(StrEnum):
    """What happened to one email request: the `outcome` of its log line."""

    SENT = "sent"
    DUPLICATE = "duplicate"  # its key was delivered before: nothing sent now
    DEAD_LETTERED = "dead_lettered"  # a PermanentError: in the DLQ with its code
    RETRY = "retry"  # a TransientError (or any unexpected one): batchItemFailures
    PAUSED = "paused"  # SendingPaused: batchItemFailures, and the batch stops sending


# Dead-lettered at once (PermanentError). Any other non-retryable AWS code passes through as itself.
INVALID_MESSAGE = "InvalidMessage"
TEMPLATE_DOES_NOT_EXIST = "TemplateDoesNotExist"
MISSING_RENDERING_ATTRIBUTE = "MissingRenderingAttribute"
INVALID_TEMPLATE = "InvalidTemplate"
IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"
DAILY_QUOTA_EXCEEDED = "DailyQuotaExceeded"
# A ClientError that carries no code at all.
UNKNOWN_ERROR = "UnknownError"

# Dead-lettered at once: a send SES may or may not have accepted (a read timeout, a connection closed
# before the answer, or an earlier invocation killed during its send). It is never sent again on its own.
SEND_OUTCOME_UNKNOWN = "SendOutcomeUnknown"

# Retried by SQS (TransientError): too little time left in the invocation to start a record, or its send.
DEADLINE_NEAR = "DeadlineNear"
# Retried by SQS: the idempotency table could not be read or written before the send.
IDEMPOTENCY_UNAVAILABLE = "IdempotencyUnavailable"
# Retried by SQS: another invocation is delivering the same key right now.
SEND_IN_PROGRESS = "SendInProgress"

# The rest of the batch is retried with no further SES call (SendingPaused).
PAUSED_CODES = frozenset({"AccountSendingPausedException", "ConfigurationSetSendingPausedException"})

# Not an outcome: SES's answer to creating a template that exists (another sender published it first).
ALREADY_EXISTS = "AlreadyExists"


class SendingPaused(CodedError):
    """SES refuses to send until someone resumes sending: stop the batch, don't burn the other messages."""


class MarkNotCleared(CodedError):
    """SES refused a marked send (nothing was sent), and the mark could not be cleared: `cause` is the
    refusal, `attempt` the mark's send attempt, which the request's copy names so that it may be claimed."""

    def __init__(self, cause: Exception, attempt: str) -> None:
        code = cause.code if isinstance(cause, CodedError) else type(cause).__name__
        super().__init__(code, f"{cause}; the send-started mark could not be cleared")
        self.cause = cause
        self.attempt = attempt


class OutcomeUnknown(CodedError):
    """The request went out but no answer came back: AWS may have acted on it. Never repeat it blindly."""
