"""The hub's work queues as SAM deploys them: each function dead-letters into its queue's own redrive target,
and knows the queue's maxReceiveCount, so the last receive is the one it dead-letters with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.rehearse.transform import transformed


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return transformed(parameters={"MemberAccounts": "111111111111", "CorsSweepEnabled": "true"})


@pytest.mark.parametrize(
    ("function", "queue"),
    [("EipJanitorFunction", "JanitorWorkQueue"), ("CorsAuditorFunction", "CorsSweepWorkQueue")],
)
def test_a_worker_knows_its_queues_redrive(template: dict[str, Any], function: str, queue: str) -> None:
    resources = template["Resources"]
    env = resources[function]["Properties"]["Environment"]["Variables"]
    redrive = resources[queue]["Properties"]["RedrivePolicy"]

    def when_hub(value: Any) -> Any:
        condition, then, _ = value["Fn::If"]
        assert condition == "HasMemberAccounts"
        return then

    assert when_hub(env["ORG_WORK_QUEUE_URL"]) == {"Ref": queue}
    dead_letters = when_hub(env["ORG_DEAD_LETTER_QUEUE_URL"])["Ref"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [dead_letters, "Arn"]}
    assert int(env["ORG_MAX_RECEIVE_COUNT"]) == int(redrive["maxReceiveCount"])
