"""Hub mode's settings and its event routing: off by default, validated at cold start, and only a batch
from the work queue itself is work."""

from __future__ import annotations

import pytest

from groundskeeper.errors import SettingsError
from groundskeeper_org.hub import is_work_batch, queue_identity
from groundskeeper_org.settings import DEFAULT_ROLE_NAME, OrgSettings
from tests.conftest import load_event

WORK_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/groundskeeper-JanitorWorkQueue"
DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/groundskeeper-OrgWorkDeadLetterQueue"
ON = {
    "MEMBER_ACCOUNTS": "111111111111",
    "ORG_RUNS_TABLE": "t",
    "ORG_WORK_QUEUE_URL": WORK_URL,
    "ORG_DEAD_LETTER_QUEUE_URL": DLQ_URL,
}


def test_off_by_default() -> None:
    org = OrgSettings.from_env({})
    assert not org.enabled
    assert (org.role_name, dict(org.owners), org.runs_table, org.work_queue_url) == (
        DEFAULT_ROLE_NAME,
        {},
        "",
        "",
    )


def test_on_with_accounts_or_the_organization() -> None:
    org = OrgSettings.from_env(
        {**ON, "MEMBER_ROLE_NAME": "gk-member", "ACCOUNT_OWNERS": "111111111111=ops@example.com"}
    )
    assert org.enabled
    assert org.members.account_ids == ("111111111111",)
    assert (org.role_name, dict(org.owners)) == ("gk-member", {"111111111111": "ops@example.com"})
    assert (org.dead_letter_queue_url, org.max_receive_count) == (DLQ_URL, 3)
    assert OrgSettings.from_env({**ON, "ORG_MAX_RECEIVE_COUNT": "5"}).max_receive_count == 5
    assert OrgSettings.from_env({**ON, "MEMBER_ACCOUNTS": "organization"}).members.organization


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"MEMBER_ACCOUNTS": "12345"}, "MEMBER_ACCOUNTS"),
        ({"MEMBER_ROLE_NAME": "no spaces allowed"}, "MEMBER_ROLE_NAME"),
        ({"ACCOUNT_OWNERS": "111111111111:ops@example.com"}, "ACCOUNT_OWNERS"),
        ({"ORG_RUNS_TABLE": ""}, "ORG_RUNS_TABLE"),
        ({"ORG_WORK_QUEUE_URL": ""}, "ORG_WORK_QUEUE_URL"),
        ({"ORG_DEAD_LETTER_QUEUE_URL": ""}, "ORG_DEAD_LETTER_QUEUE_URL"),
        ({"ORG_MAX_RECEIVE_COUNT": "0"}, "ORG_MAX_RECEIVE_COUNT"),
        ({"ORG_MAX_RECEIVE_COUNT": "three"}, "ORG_MAX_RECEIVE_COUNT"),
    ],
)
def test_a_bad_value_names_its_variable(change: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        OrgSettings.from_env({**ON, **change})


def test_an_empty_role_name_means_the_default() -> None:
    assert OrgSettings.from_env({"MEMBER_ROLE_NAME": ""}).role_name == DEFAULT_ROLE_NAME


def test_a_queue_is_the_same_by_url_and_by_arn() -> None:
    arn = "arn:aws:sqs:us-east-1:123456789012:groundskeeper-JanitorWorkQueue"
    assert (
        queue_identity(WORK_URL) == queue_identity(arn) == ("123456789012", "groundskeeper-JanitorWorkQueue")
    )
    assert queue_identity(
        "http://localhost:5000/123456789012/groundskeeper-JanitorWorkQueue/"
    ) == queue_identity(arn)
    assert queue_identity("nonsense") == queue_identity("arn:aws:sqs:x") == ("", "")


def test_only_a_batch_from_the_work_queue_is_work() -> None:
    work = load_event("sqs-org-work-item.json")
    assert is_work_batch(work, WORK_URL)
    other = load_event("sqs-s3-object-created.json")
    assert not is_work_batch(other, WORK_URL)
    for event in (load_event("schedule-eip-janitor.json"), {"Records": []}, {"Records": ["x"]}, None, []):
        assert not is_work_batch(event, WORK_URL)
    # Same name in another account is another queue.
    assert not is_work_batch(work, WORK_URL.replace("123456789012", "210987654321"))
