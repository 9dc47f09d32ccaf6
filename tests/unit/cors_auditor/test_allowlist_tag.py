"""The per-bucket allowlist tag: what each value means, and every malformed value a finding, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cors_auditor.allowlist_tag import (
    MALFORMED_TAG_RULE,
    MAX_TAG_ORIGINS,
    TAG_RULE_INDEX,
    effective_allowlist,
    origin_problem,
)
from cors_auditor.settings import Settings
from groundskeeper.errors import SettingsError

GLOBAL = ("https://app.example.com",)


def test_no_tag_keeps_the_global_list() -> None:
    allowlist = effective_allowlist(None, GLOBAL)
    assert (allowlist.origins, allowlist.source, allowlist.finding) == (GLOBAL, "global", None)


def test_a_plus_adds_to_the_global_list() -> None:
    allowlist = effective_allowlist("+https://a.example https://b.example:8443", GLOBAL)
    assert allowlist.origins == ("https://app.example.com", "https://a.example", "https://b.example:8443")
    assert allowlist.source == "tag-added"
    assert allowlist.finding is None


def test_a_plain_list_replaces_the_global_list() -> None:
    allowlist = effective_allowlist("  https://a.example   https://a.example https://b.example ", GLOBAL)
    assert allowlist.origins == ("https://a.example", "https://b.example")
    assert allowlist.source == "tag-replaced"


def test_adding_to_no_global_list_is_the_tag_alone() -> None:
    assert effective_allowlist("+https://a.example", ()).origins == ("https://a.example",)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "no origin"),
        ("   ", "no origin"),
        ("+", "no origin"),
        ("*", "wildcard"),
        ("+https://*.example.com", "wildcard"),
        ("https://a.example/path", "not an exact origin"),
        ("a.example", "not an exact origin"),
        ("https://", "not an exact origin"),
        ("https://a.example,https://b.example", "not an exact origin"),
        ("x" * 257, "at most 256"),
        (" ".join(f"http://h{i}" for i in range(MAX_TAG_ORIGINS + 1)), f"at most {MAX_TAG_ORIGINS}"),
    ],
)
def test_a_malformed_value_is_a_finding_and_the_global_list_applies(value: str, why: str) -> None:
    allowlist = effective_allowlist(value, GLOBAL)
    assert allowlist.origins == GLOBAL
    assert allowlist.source == "tag-malformed"
    assert allowlist.finding is not None
    assert (allowlist.finding.rule_id, allowlist.finding.severity) == (MALFORMED_TAG_RULE, "MEDIUM")
    assert allowlist.finding.rule_index == TAG_RULE_INDEX
    assert why in allowlist.finding.detail
    assert "groundskeeper:cors-allowed-origins" in allowlist.finding.detail


def test_the_finding_names_the_configured_key_and_shortens_what_it_quotes() -> None:
    allowlist = effective_allowlist("https://" + "a" * 200 + ".example/p", (), tag_key="team:origins")
    assert allowlist.finding is not None
    assert "tag team:origins:" in allowlist.finding.detail
    assert len(allowlist.finding.detail) < 200


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "no origin in the value"),
        ("https://*.example.com", "'https://*.example.com' has a wildcard"),
        ("a.example", "'a.example' is not an exact origin like https://app.example.com"),
        ("x" * 257, "257 characters, at most 256"),
        (" ".join(f"http://h{i}" for i in range(21)), "21 origins, at most 20"),
    ],
)
def test_the_finding_says_exactly_what_is_wrong(value: str, problem: str) -> None:
    allowlist = effective_allowlist(value, GLOBAL)
    assert allowlist.finding is not None
    assert allowlist.finding.detail == (
        f"tag groundskeeper:cors-allowed-origins: {problem}; the global allowlist applies"
    )


def test_a_value_at_the_limits_is_still_an_allowlist() -> None:
    longest = "https://" + "a" * 248
    most = [f"http://h{i}" for i in range(MAX_TAG_ORIGINS)]
    assert len(longest) == 256
    assert effective_allowlist(longest, GLOBAL).origins == (longest,)
    assert effective_allowlist(" ".join(most), GLOBAL).origins == tuple(most)


def test_an_origin_is_quoted_whole_up_to_60_characters_then_cut() -> None:
    sixty = "https://a.example/" + "p" * 42
    assert len(sixty) == 60
    quoted = effective_allowlist(sixty, GLOBAL).finding
    cut = effective_allowlist(sixty + "q", GLOBAL).finding
    assert quoted is not None and cut is not None
    assert f"{sixty!r} is not an exact origin" in quoted.detail
    assert f"{sixty + '...'!r} is not an exact origin" in cut.detail


@pytest.mark.parametrize("origin", ["://a.example", "https://a.example/", "https://a .example"])
def test_an_origin_needs_a_scheme_a_host_and_nothing_more(origin: str) -> None:
    assert origin_problem(origin) == "is not an exact origin like https://app.example.com"


@pytest.mark.parametrize("origin", ["https://a.example", "http://localhost:3000", "https://[::1]:8443"])
def test_exact_origins_pass(origin: str) -> None:
    assert origin_problem(origin) is None


@given(st.text(max_size=300))
def test_any_value_gives_an_allowlist_never_an_exception(value: str) -> None:
    allowlist = effective_allowlist(value, GLOBAL)
    if allowlist.finding is None:
        assert all(origin_problem(o) is None for o in allowlist.origins)
    else:
        assert allowlist.origins == GLOBAL


@pytest.mark.parametrize(
    ("value", "key"),
    [(None, "groundskeeper:cors-allowed-origins"), ("team:origins", "team:origins"), ("-", "")],
)
def test_allowlist_tag_key_setting(value: str | None, key: str) -> None:
    environ = {} if value is None else {"ALLOWLIST_TAG_KEY": value}
    assert Settings.from_env(environ).allowlist_tag_key == key


@pytest.mark.parametrize("value", ["aws:origins", "k" * 129])
def test_an_unusable_tag_key_fails_at_cold_start(value: str) -> None:
    with pytest.raises(SettingsError, match="ALLOWLIST_TAG_KEY"):
        Settings.from_env({"ALLOWLIST_TAG_KEY": value})
