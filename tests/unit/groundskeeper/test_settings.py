"""Settings parsing: every bad value fails with an error that names its variable."""

from __future__ import annotations

from typing import Any

import pytest

from groundskeeper.errors import SettingsError
from groundskeeper.settings import Setting, env_bool, env_csv, env_int, env_str


def test_env_str_defaults_and_strips() -> None:
    assert env_str("X", "fallback", environ={}) == "fallback"
    assert env_str("X", environ={"X": "  value  "}) == "value"


def test_env_str_rejects_a_value_outside_its_choices() -> None:
    with pytest.raises(SettingsError, match=r"^REMEDIATION: must be one of off, fix; got 'maybe'"):
        env_str("REMEDIATION", "off", choices=("off", "fix"), environ={"REMEDIATION": "maybe"})


def test_env_str_required_names_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        env_str("IDEMPOTENCY_TABLE", required=True, environ={"IDEMPOTENCY_TABLE": " "})
    assert caught.value.variable == "IDEMPOTENCY_TABLE"


@pytest.mark.parametrize(("raw", "expected"), [("", 7), ("0", 0), ("42", 42), (" 5 ", 5)])
def test_env_int_parses(raw: str, expected: int) -> None:
    assert env_int("N", 7, minimum=0, environ={"N": raw}) == expected


@pytest.mark.parametrize(("raw", "problem"), [("ten", "a whole number"), ("-1", ">= 0"), ("999", "<= 100")])
def test_env_int_rejects(raw: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=f"^GRACE: must be {problem}"):
        env_int("GRACE", 1, minimum=0, maximum=100, environ={"GRACE": raw})


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("FALSE", False), ("1", True), ("off", False)])
def test_env_bool_parses(raw: str, expected: bool) -> None:
    assert env_bool("DRY_RUN", not expected, environ={"DRY_RUN": raw}) is expected


def test_env_bool_keeps_the_safe_default_when_unset_and_rejects_nonsense() -> None:
    assert env_bool("DRY_RUN", True, environ={}) is True
    with pytest.raises(SettingsError, match=r"^DRY_RUN: must be true or false"):
        env_bool("DRY_RUN", True, environ={"DRY_RUN": "nope"})


def test_env_csv_drops_blanks() -> None:
    assert env_csv("R", environ={"R": " us-east-1, ,eu-west-1 ,"}) == ("us-east-1", "eu-west-1")
    assert env_csv("R", environ={}) == ()


def test_env_str_blank_means_the_default() -> None:
    assert env_str("X", "fallback", environ={"X": "  "}) == "fallback"
    assert env_str("REMEDIATION", "off", choices=("off", "fix"), environ={"REMEDIATION": ""}) == "off"


def test_a_setting_reads_by_the_kind_of_its_default() -> None:
    cache = Setting("CACHE", 300, "seconds", minimum=0, maximum=600)
    flag = Setting("FLAG", True, "a flag")
    mode = Setting("MODE", "off", "a mode", choices=("off", "fix"))
    names = Setting("NAMES", (), "a list")
    assert [s.kind for s in (cache, flag, mode, names)] == ["int", "bool", "choice", "csv"]
    environ = {"CACHE": "0", "FLAG": "no", "MODE": "fix", "NAMES": "a, b,"}
    assert (cache.read(environ), flag.read(environ), mode.read(environ), names.read(environ)) == (
        0,
        False,
        "fix",
        ("a", "b"),
    )
    assert (cache.read({}), flag.read({}), mode.read({}), names.read({})) == (300, True, "off", ())


@pytest.mark.parametrize(
    ("setting", "raw"),
    [
        (Setting("CACHE", 300, "seconds", minimum=0, maximum=600), "601"),
        (Setting("FLAG", True, "a flag"), "maybe"),
        (Setting("MODE", "off", "a mode", choices=("off", "fix")), "on"),
        (Setting("TABLE", "", "a table", required=True), " "),
    ],
)
def test_a_setting_names_its_variable_when_a_value_breaks_it(setting: Setting[Any], raw: str) -> None:
    with pytest.raises(SettingsError) as caught:
        setting.read({setting.env: raw})
    assert caught.value.variable == setting.env
