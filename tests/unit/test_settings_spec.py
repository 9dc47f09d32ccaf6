"""The settings specs against the template: every parameter a spec names exists with the spec's default and
bounds and feeds that variable; every variable the template sets has a spec; the docs table is current.

The template is walked whole (Globals, every function, nested templates), so functions may be split,
renamed or moved without touching this test."""

from __future__ import annotations

from typing import Any

import pytest

from groundskeeper.errors import SettingsError
from scripts import settings_table
from scripts.settings_table import AnySetting, all_specs, as_text, env_sources, load_templates, parameters

SPECS = all_specs()
BY_ENV = {spec.env: spec for spec in SPECS}
# Set by the template but read by Powertools or boto3, not by a settings module.
READ_BY_LIBRARIES = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "AWS_ENDPOINT_URL",
}
# Set from one of the stack's own resources (a queue, a table, a configuration set), never by a user.
FROM_RESOURCES = {
    "NOTIFY_QUEUE_URL",
    "IDEMPOTENCY_TABLE",
    "DEAD_LETTER_QUEUE_URL",
    "SES_CONFIGURATION_SET",
    "EMAIL_QUEUE_URL",
    "EMAIL_MAPPING_UUID",
    "RUN_LEDGER_TABLE",
    "ORG_RUNS_TABLE",
    "JANITOR_WORK_QUEUE_URL",
    "CORS_SWEEP_WORK_QUEUE_URL",
    "ORG_DEAD_LETTER_QUEUE_URL",
    "CANARY_SENDER_VERSION",
    "CANARY_RECORDS_TABLE",
    "ACTION_JOURNAL_TABLE",
}
# Read by a function, but not set by the template: the default serves the stack.
ENV_ONLY = {"SWEEP_CONCURRENCY"}
# Where a parameter also drives something narrower than the variable allows, and so may differ from it.
# SenderMaxConcurrency is also the email queue's event source MaximumConcurrency, which is at least 2.
PARAMETER_DIFFERS: dict[str, dict[str, Any]] = {"SEND_RATE_SHARE": {"Default": "2", "MinValue": 2}}


@pytest.fixture(scope="module")
def templates() -> list[dict[str, Any]]:
    return load_templates()


@pytest.fixture(scope="module")
def set_from(templates: list[dict[str, Any]]) -> dict[str, set[tuple[str, str]]]:
    return env_sources(templates)


def test_each_variable_has_one_spec() -> None:
    assert len(BY_ENV) == len(SPECS), "a variable is declared twice"


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.env)
def test_a_spec_reads_its_own_default(spec: AnySetting) -> None:
    """Unset gives the default (or, when required, an error naming the variable), and the default keeps
    the spec's own bounds."""
    if spec.required:
        with pytest.raises(SettingsError) as caught:
            spec.read({})
        assert caught.value.variable == spec.env
        return
    assert spec.read({}) == spec.default
    assert spec.read({spec.env: as_text(spec.default)}) == spec.default
    assert spec.doc and spec.doc == " ".join(spec.doc.split())


@pytest.mark.parametrize("spec", [s for s in SPECS if s.parameter], ids=lambda spec: spec.env)
def test_the_parameter_agrees_with_the_spec(spec: AnySetting, templates: list[dict[str, Any]]) -> None:
    declared = parameters(templates)
    assert spec.parameter in declared, f"{spec.env}: no parameter {spec.parameter} in template.yaml"
    parameter = declared[spec.parameter or ""]
    expected: dict[str, Any] = {
        "Default": as_text(spec.default),
        "MinValue": spec.minimum,
        "MaxValue": spec.maximum,
        "AllowedValues": ["true", "false"] if spec.kind == "bool" else spec.choices,
    }
    expected.update(PARAMETER_DIFFERS.get(spec.env, {}))
    found: dict[str, Any] = {
        "Default": str(parameter.get("Default", "")),
        "MinValue": parameter.get("MinValue"),
        "MaxValue": parameter.get("MaxValue"),
        "AllowedValues": parameter.get("AllowedValues"),
    }
    if expected["AllowedValues"] is not None and found["AllowedValues"] is not None:
        expected["AllowedValues"] = sorted(expected["AllowedValues"])
        found["AllowedValues"] = sorted(found["AllowedValues"])
    for key in ("MinValue", "MaxValue"):
        found[key] = None if found[key] is None else int(found[key])
    assert found == expected, f"{spec.env} vs parameter {spec.parameter}"
    assert parameter.get("Type") == ("Number" if spec.kind == "int" else "String")


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.env)
def test_the_template_sets_the_variable_as_the_spec_says(
    spec: AnySetting, set_from: dict[str, set[tuple[str, str]]], templates: list[dict[str, Any]]
) -> None:
    found = set_from.get(spec.env, set())
    if spec.env in ENV_ONLY:
        assert not found, f"{spec.env} is set by the template: take it out of ENV_ONLY"
        return
    assert found, f"no function's Environment sets {spec.env}"
    if spec.parameter:
        assert found == {("parameter", spec.parameter)}, f"{spec.env} is set from {found}"
        return
    kinds = {kind for kind, _ in found}
    assert "parameter" not in kinds, f"{spec.env} is set from a parameter: name it in the spec ({found})"
    if spec.env in FROM_RESOURCES:
        assert kinds == {"resource"}, f"{spec.env} is set from {found}"
        return
    # A constant in the template (inline or in Mappings) must be a value the spec accepts.
    for _, text in found:
        spec.read({spec.env: text})


def test_every_variable_the_template_sets_has_a_spec(set_from: dict[str, set[tuple[str, str]]]) -> None:
    unknown = set(set_from) - set(BY_ENV) - READ_BY_LIBRARIES
    assert not unknown, f"environment variables without a Setting spec: {sorted(unknown)}"
    assert set(BY_ENV) >= FROM_RESOURCES
    assert all(BY_ENV[env].parameter is None for env in FROM_RESOURCES)


def test_the_configuration_table_is_current() -> None:
    assert settings_table.main(["--check"]) == 0, "run `python -m scripts.settings_table --write`"


def test_the_table_lists_every_parameter(templates: list[dict[str, Any]]) -> None:
    table = settings_table.render(templates)
    missing = [name for name in parameters(templates) if f"| `{name}` |" not in table]
    assert not missing, f"parameters missing from docs/configuration.md: {missing}"
