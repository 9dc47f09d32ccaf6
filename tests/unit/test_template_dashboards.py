"""The dashboards as SAM deploys them, in a nested stack: each body is valid JSON once CloudFormation
substitutes it, and every Groundskeeper metric a widget plots is one the code emits (a widget of a metric
nobody emits stays empty)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from scripts.rehearse.nested import Stack
from scripts.rehearse.transform import transformed

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*REPO_ROOT.glob("layers/*/groundskeeper*/*.py"), *REPO_ROOT.glob("functions/*/*/*.py")]
# Names the code builds rather than writes: the auditor emits Findings<Severity> per severity.
BUILT = {"FindingsHigh", "FindingsMedium", "FindingsLow"}
BUILT_BY = 'name=f"Findings{severity.title()}"'


def _bodies(deployed: Stack) -> dict[str, Any]:
    """Every dashboard of the deployed stacks (the nested ones included), its body parsed."""
    found = {}
    for stack in deployed.stacks():
        for logical, resource in stack.resources("AWS::CloudWatch::Dashboard").items():
            body = stack.resolve(resource["Properties"]["DashboardBody"])
            # What Fn::Sub leaves to CloudFormation: ${Name} and ${Name.Attribute} are values, ${!Literal} is
            # "${Literal}".
            substituted = re.sub(r"\$\{(?!!)[^}]+\}", "value", body).replace("${!", "${")
            found[logical] = json.loads(substituted)
    return found


@pytest.fixture(scope="module")
def dashboards() -> dict[str, Any]:
    parameters = {"MemberAccounts": "111111111111", "CorsSweepEnabled": "true"}
    return _bodies(Stack(transformed(parameters=parameters), parameters))


def test_the_body_parses_with_every_function_a_setting_may_add() -> None:
    """The lines of functions a setting may leave out join the widgets' lists without breaking them."""
    observability = Stack(transformed()).children["Observability"]
    names = {
        name: f"groundskeeper-{name}"
        for name, spec in observability.template["Parameters"].items()
        if name.endswith("FunctionName") and "Default" in spec
    }
    assert len(names) == 6
    bodies = _bodies(Stack(observability.template, {**observability.parameters, **names}))
    lines = [line for widget in bodies["Dashboard"]["widgets"] for line in widget["properties"]["metrics"]]
    for name in names.values():
        assert [line[1] for line in lines if name in line] == ["Duration", "Errors", "Throttles"], name


def test_both_dashboards_are_there(dashboards: dict[str, Any]) -> None:
    assert set(dashboards) == {"Dashboard", "OrgDashboard"}


def test_every_groundskeeper_metric_on_a_dashboard_is_emitted(dashboards: dict[str, Any]) -> None:
    code = "\n".join(path.read_text() for path in SOURCES)
    plotted = {
        line[1]
        for body in dashboards.values()
        for widget in body["widgets"]
        for line in widget["properties"].get("metrics", [])
        if line and line[0] == "Groundskeeper"
    }
    assert {"OrgWorkItemsRetried", "OrgWorkItemsDeadLettered", "EmailsSent"} <= plotted
    assert BUILT_BY in code
    assert sorted(name for name in plotted - BUILT if f'"{name}"' not in code) == []


def test_every_ses_series_is_one_ses_can_emit(dashboards: dict[str, Any]) -> None:
    """SES emits RenderingFailure only for templated sends; the sender renders and sends each email itself."""
    plotted = {
        line[1]
        for body in dashboards.values()
        for widget in body["widgets"]
        for line in widget["properties"].get("metrics", [])
        if line and line[0] == "AWS/SES"
    }
    assert plotted == {"Bounce", "Complaint", "Reject", "DeliveryDelay"}
