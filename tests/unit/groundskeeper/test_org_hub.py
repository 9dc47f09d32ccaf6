"""Hub mode's settings: off by default, validated at cold start, each naming its variable; the planner
needs every job's work queue, a worker the work DLQ."""

from __future__ import annotations

import pytest

from groundskeeper.errors import SettingsError
from groundskeeper_org.runs import JOBS
from groundskeeper_org.settings import DEFAULT_ROLE_NAME, WORK_QUEUE_VARIABLES, OrgSettings

QUEUES = "https://sqs.us-east-1.amazonaws.com/123456789012/"
DLQ_URL = QUEUES + "groundskeeper-OrgWorkDeadLetterQueue"
ON = {"MEMBER_ACCOUNTS": "111111111111", "ORG_RUNS_TABLE": "t", "ORG_DEAD_LETTER_QUEUE_URL": DLQ_URL}
PLANNER_ON = {
    "MEMBER_ACCOUNTS": "111111111111",
    "ORG_RUNS_TABLE": "t",
    "JANITOR_WORK_QUEUE_URL": QUEUES + "groundskeeper-JanitorWorkQueue",
    "CORS_SWEEP_WORK_QUEUE_URL": QUEUES + "groundskeeper-CorsSweepWorkQueue",
}


def test_off_by_default() -> None:
    for org in (OrgSettings.from_env({}), OrgSettings.from_env({}, planner=True)):
        assert not org.enabled
        assert (org.role_name, dict(org.owners), org.runs_table, org.dead_letter_queue_url) == (
            DEFAULT_ROLE_NAME,
            {},
            "",
            "",
        )


def test_every_job_has_its_work_queue_variable() -> None:
    assert set(WORK_QUEUE_VARIABLES) == set(JOBS)


def test_the_planner_reads_each_jobs_work_queue_and_no_dead_letter_queue() -> None:
    org = OrgSettings.from_env(PLANNER_ON, planner=True)
    assert dict(org.work_queue_urls) == {
        "eip-janitor": PLANNER_ON["JANITOR_WORK_QUEUE_URL"],
        "cors-sweep": PLANNER_ON["CORS_SWEEP_WORK_QUEUE_URL"],
    }
    assert org.dead_letter_queue_url == ""
    # A worker reads no work queue: its event source mapping does.
    assert dict(OrgSettings.from_env(ON).work_queue_urls) == {}


@pytest.mark.parametrize(
    "variable", ["JANITOR_WORK_QUEUE_URL", "CORS_SWEEP_WORK_QUEUE_URL", "ORG_RUNS_TABLE"]
)
def test_the_planner_without_a_work_queue_or_its_table_names_the_variable(variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        OrgSettings.from_env({**PLANNER_ON, variable: ""}, planner=True)


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
