"""The email sender's vocabulary: its outcomes are the log values, its own errors use the layer's base."""

from __future__ import annotations

import pytest

from email_sender.errors import Outcome, OutcomeUnknown, SendingPaused
from groundskeeper.errors import CodedError, GroundskeeperError, PermanentError, TransientError, is_retryable


def test_outcomes_are_the_log_values() -> None:
    assert [str(outcome) for outcome in Outcome] == ["sent", "duplicate", "dead_lettered", "retry", "paused"]


@pytest.mark.parametrize("cls", [SendingPaused, OutcomeUnknown])
def test_the_senders_errors_carry_code_and_message_on_the_layers_base(cls: type[CodedError]) -> None:
    exc = cls("SomeCode", "what happened")
    assert isinstance(exc, CodedError)
    assert isinstance(exc, GroundskeeperError)
    assert (exc.code, exc.message, str(exc)) == ("SomeCode", "what happened", "SomeCode: what happened")


def test_the_three_outcome_errors_are_distinct() -> None:
    assert not issubclass(PermanentError, TransientError | SendingPaused)
    assert not issubclass(TransientError, PermanentError | SendingPaused)
    assert not issubclass(SendingPaused, PermanentError | TransientError)


@pytest.mark.parametrize("cls", [SendingPaused, OutcomeUnknown])
def test_a_pause_or_an_unknown_outcome_is_never_retried_as_transient(cls: type[CodedError]) -> None:
    assert not is_retryable(cls("AccountSendingPausedException", "paused"))
