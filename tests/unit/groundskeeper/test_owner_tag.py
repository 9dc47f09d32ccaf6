"""An account's owner: ACCOUNT_OWNERS first, then its `groundskeeper:owner` tag, whose value is written by
whoever may tag the account and so is taken only when it is one plausible address."""

from __future__ import annotations

import string
import unicodedata
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import given
from hypothesis import strategies as st

from groundskeeper_org.accounts import (
    MAX_ADDRESS_CHARS,
    OWNER_TAG_KEY,
    TagOwner,
    owner_from_tag,
    parse_owner_tag,
    resolve_owner,
    shown_value,
)

A, B = "111111111111", "222222222222"


def test_a_plain_address_is_the_owner_without_its_surrounding_whitespace() -> None:
    assert parse_owner_tag("  team-a+aws@example.co.uk\n") == TagOwner("team-a+aws@example.co.uk")


WHITESPACE = "has whitespace inside"
CONTROL = "has a control or non-printing character"
QUOTING = "has one of < > \" ' , ;"
NOT_LOCAL_AT_DOMAIN = "is not local@domain.tld"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("team a@example.com", WHITESPACE),
        ("team@exa\u00a0mple.com", WHITESPACE),
        ("team@example.com\u0000", CONTROL),
        ("team@example.com\u202e", CONTROL),  # a right-to-left override
        ("team@exam\u200bple.com", CONTROL),  # a zero-width space
        ("Team A <team@example.com>", WHITESPACE),
        ("<team@example.com>", QUOTING),
        ('"team"@example.com', QUOTING),
        ("a@example.com,b@example.com", QUOTING),
        ("a@example.com;b@example.com", QUOTING),
        ("o'brien@example.com", QUOTING),
        ("team", "has 0 '@', not one"),
        ("a@b@example.com", "has 2 '@', not one"),
        ("@example.com", NOT_LOCAL_AT_DOMAIN),
        ("team@", NOT_LOCAL_AT_DOMAIN),
        ("team@localhost", NOT_LOCAL_AT_DOMAIN),
        ("team@.", NOT_LOCAL_AT_DOMAIN),
        ("a" * (MAX_ADDRESS_CHARS - len("@example.com") + 1) + "@example.com", "255 characters, at most 254"),
    ],
)
def test_anything_but_one_plausible_address_is_ignored_with_its_reason(value: str, why: str) -> None:
    """The reason is what the warning's `reason` field says to whoever reads the log."""
    assert parse_owner_tag(value) == TagOwner(None, why)


def test_the_longest_address_fits() -> None:
    address = "a" * (MAX_ADDRESS_CHARS - len("@example.com")) + "@example.com"
    assert parse_owner_tag(address).owner == address


_ATOM = st.text(
    alphabet=string.ascii_letters + string.digits + "!#$%&*+-/=?^_`{|}~.", min_size=1, max_size=30
)
_LABEL = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20)
_PADDING = st.text(alphabet=" \t\r\n", max_size=3)


@given(_ATOM, st.lists(_LABEL, min_size=2, max_size=4), _PADDING, _PADDING)
def test_every_plain_address_is_taken_as_written(
    local: str, labels: list[str], before: str, after: str
) -> None:
    address = f"{local}@{'.'.join(labels)}"
    assert parse_owner_tag(before + address + after) == TagOwner(address)


def _printable_safe(address: str) -> bool:
    return not any(c.isspace() or unicodedata.category(c).startswith("C") or c in "<>\"',;" for c in address)


@given(st.text(max_size=300))
def test_whatever_the_value_an_owner_is_one_safe_address_or_none(value: str) -> None:
    parsed = parse_owner_tag(value)
    assert (parsed.owner is None) != (parsed.problem is None)
    if parsed.owner is not None:
        assert parsed.owner == value.strip()
        assert len(parsed.owner) <= MAX_ADDRESS_CHARS
        assert parsed.owner.count("@") == 1
        assert _printable_safe(parsed.owner)


@given(st.text(max_size=500))
def test_a_shown_value_is_short_and_on_one_line(value: str) -> None:
    shown = shown_value(value)
    assert "\n" not in shown and "\r" not in shown
    assert len(shown) <= len(repr(value[:80] + "..."))


def test_the_mapping_wins_and_the_tag_is_then_not_read() -> None:
    read: list[str] = []

    def read_tag(account_id: str) -> str | None:
        read.append(account_id)
        return f"tag-{account_id}@example.com"

    configured = {A: "mapped@example.com"}
    assert resolve_owner(A, configured, read_tag) == "mapped@example.com"
    assert read == []
    assert resolve_owner(B, configured, read_tag) == f"tag-{B}@example.com"
    assert read == [B]


def test_without_a_tag_reader_only_the_mapping_names_owners() -> None:
    assert resolve_owner(A, {A: "mapped@example.com"}, None) == "mapped@example.com"
    assert resolve_owner(B, {A: "mapped@example.com"}, None) is None
    assert resolve_owner(B, {}, lambda _: None) is None


class _Organizations:
    """list_tags_for_resource's paginator over fixed pages, or an error from the first page."""

    def __init__(
        self, pages: list[list[dict[str, str]]] | None = None, error: Exception | None = None
    ) -> None:
        self.pages = pages or [[]]
        self.error = error
        self.asked: list[Any] = []

    def get_paginator(self, operation: str) -> _Organizations:
        assert operation == "list_tags_for_resource"
        return self

    def paginate(self, **kwargs: Any) -> Any:
        self.asked.append(kwargs)
        if self.error is not None:
            raise self.error
        return ({"Tags": tags} for tags in self.pages)


def test_the_tag_is_found_on_any_page() -> None:
    organizations = _Organizations(
        [[{"Key": "team", "Value": "x"}], [{"Key": OWNER_TAG_KEY, "Value": " owner@example.com "}]]
    )
    assert owner_from_tag(organizations, A) == "owner@example.com"
    assert organizations.asked == [{"ResourceId": A}]


def test_no_tag_is_no_owner_and_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        assert owner_from_tag(_Organizations([[{"Key": "Owner", "Value": "x@example.com"}]]), A) is None
    assert caplog.records == []


def test_a_malformed_tag_is_ignored_with_a_short_warning(caplog: pytest.LogCaptureFixture) -> None:
    value = "<script>" + "x" * 500 + "\n@example.com"
    with caplog.at_level("WARNING"):
        assert owner_from_tag(_Organizations([[{"Key": OWNER_TAG_KEY, "Value": value}]]), A) is None
    [logged] = caplog.records
    fields = vars(logged)
    assert (fields["account_id"], fields["tag_key"]) == (A, OWNER_TAG_KEY)
    assert fields["reason"] == "521 characters, at most 254"
    assert fields["value"] == repr(value[:80] + "...")
    assert "example.com" not in fields["value"]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListTagsForResource"),
            "AccessDeniedException",
        ),
        (
            ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, "ListTagsForResource"
            ),
            "TooManyRequestsException",
        ),
        (
            EndpointConnectionError(endpoint_url="https://organizations.us-east-1.amazonaws.com"),
            "EndpointConnectionError",
        ),
    ],
)
def test_an_unreadable_tag_is_no_owner_and_a_warning(
    error: Exception, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING"):
        assert owner_from_tag(_Organizations(error=error), A) is None
    [logged] = caplog.records
    assert (vars(logged)["account_id"], vars(logged)["error_code"]) == (A, code)
