"""The run ledger's records as DynamoDB holds them (moto): the release budget's claims, the account's lease,
and the dry-run memory, read and written in DynamoDB's batch sizes, with the keys DynamoDB leaves
unprocessed tried again (injected with botocore hooks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from eip_janitor.run_ledger import (
    CLAIM_ATTEMPTS,
    KEEP_FOR,
    LEASE_FOR,
    REMEMBER_FOR,
    UNPROCESSED_ATTEMPTS,
    LedgerContended,
    LedgerUnavailable,
    Remembered,
    RunLedger,
)

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
ACCOUNT = "111111111111"


def epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


@pytest.fixture
def dynamodb(ledger_table: str) -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def ledger(dynamodb: Any, ledger_table: str) -> RunLedger:
    return RunLedger(dynamodb, ledger_table)


def item(dynamodb: Any, key: str) -> dict[str, Any]:
    found: dict[str, Any] = dynamodb.get_item(TableName="idempotency", Key={"id": {"S": key}}).get("Item", {})
    return found


# --- the release budget -----------------------------------------------------------------------------------


def test_a_claim_is_kept_under_the_run_id_until_it_expires(ledger: RunLedger, dynamodb: Any) -> None:
    assert ledger.claimed("run-1") == 0
    assert ledger.claim("run-1", 3, 10, NOW) == 3

    assert ledger.claimed("run-1") == 3
    assert ledger.claimed("run-2") == 0
    assert item(dynamodb, "eip-janitor-run#run-1") == {
        "id": {"S": "eip-janitor-run#run-1"},
        "claimed": {"N": "3"},
        "expiration": {"N": epoch(NOW + KEEP_FOR)},
    }


def test_a_claim_that_loses_a_race_reads_again_and_takes_what_is_left(
    ledger: RunLedger, dynamodb: Any
) -> None:
    raced: list[int] = []

    def another_delivery_claims_first(params: dict[str, Any], **_: Any) -> None:
        if not raced:
            raced.append(
                RunLedger(boto3.client("dynamodb", region_name="us-east-1"), "idempotency").claim(
                    "run-1", 3, 4, NOW
                )
            )

    dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", another_delivery_claims_first)

    assert ledger.claim("run-1", 3, 4, NOW) == 1
    assert raced == [3]
    assert ledger.claimed("run-1") == 4


def test_a_claim_that_loses_every_race_grants_nothing(ledger: RunLedger, dynamodb: Any) -> None:
    attempts: list[int] = []

    def always_raced(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        attempts.append(1)
        return refusal("ConditionalCheckFailedException")

    dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", always_raced)

    with pytest.raises(LedgerContended, match=f"run run-1 after {CLAIM_ATTEMPTS} attempts"):
        ledger.claim("run-1", 1, 4, NOW)
    assert len(attempts) == CLAIM_ATTEMPTS


# --- the lease --------------------------------------------------------------------------------------------


def test_a_lease_is_held_until_it_expires_and_its_record_outlives_it(
    ledger: RunLedger, dynamodb: Any
) -> None:
    lease = ledger.take_lease(ACCOUNT, "run-1", NOW)

    until = NOW + LEASE_FOR
    assert lease == {"status": "held", "holder": "run-1", "until": "2026-11-22T06:15:00Z"}
    assert item(dynamodb, f"eip-janitor-lease#{ACCOUNT}") == {
        "id": {"S": f"eip-janitor-lease#{ACCOUNT}"},
        "holder": {"S": "run-1"},
        "lease_until": {"N": epoch(until)},
        "expiration": {"N": epoch(until + KEEP_FOR)},
    }


def test_a_live_lease_is_busy_with_its_holder_and_end_and_an_ended_one_is_taken(ledger: RunLedger) -> None:
    ledger.take_lease(ACCOUNT, "run-1", NOW)

    busy = ledger.take_lease(ACCOUNT, "run-2", NOW + LEASE_FOR - timedelta(seconds=1))
    taken = ledger.take_lease(ACCOUNT, "run-3", NOW + LEASE_FOR + timedelta(seconds=1))

    assert busy == {"status": "busy", "holder": "run-1", "until": "2026-11-22T06:15:00Z"}
    assert (taken["status"], taken["holder"]) == ("held", "run-3")


def test_a_lease_whose_record_went_between_the_two_calls_is_busy_without_a_holder(
    ledger: RunLedger, dynamodb: Any
) -> None:
    ledger.take_lease(ACCOUNT, "run-1", NOW)

    def expire_it(**_: Any) -> None:
        boto3.client("dynamodb", region_name="us-east-1").delete_item(
            TableName="idempotency", Key={"id": {"S": f"eip-janitor-lease#{ACCOUNT}"}}
        )

    dynamodb.meta.events.register("provide-client-params.dynamodb.GetItem", expire_it)

    assert ledger.take_lease(ACCOUNT, "run-2", NOW) == {"status": "busy", "holder": ""}


def test_a_lease_given_back_ends_and_one_taken_since_by_another_run_is_left_alone(
    ledger: RunLedger, dynamodb: Any
) -> None:
    mine = ledger.take_lease(ACCOUNT, "run-1", NOW)
    ledger.give_back(ACCOUNT, mine)

    assert item(dynamodb, f"eip-janitor-lease#{ACCOUNT}")["holder"] == {"S": "run-1"}
    assert "lease_until" not in item(dynamodb, f"eip-janitor-lease#{ACCOUNT}")
    later = NOW + timedelta(minutes=1)
    theirs = ledger.take_lease(ACCOUNT, "run-2", later)
    assert theirs["status"] == "held"

    ledger.give_back(ACCOUNT, mine)  # ours ended long ago: the new holder keeps its lease
    ledger.give_back(ACCOUNT, {"status": "busy", "holder": "run-2", "until": theirs["until"]})

    assert ledger.take_lease(ACCOUNT, "run-3", later)["status"] == "busy"
    ledger.give_back(ACCOUNT, theirs)
    assert ledger.take_lease(ACCOUNT, "run-3", later)["status"] == "held"


# --- the dry-run memory -----------------------------------------------------------------------------------


def ids(count: int, prefix: str = "eipalloc-") -> list[str]:
    return [f"{prefix}{n:03d}" for n in range(count)]


def test_more_addresses_than_one_batch_holds_are_remembered_and_read_back(
    ledger: RunLedger, dynamodb: Any
) -> None:
    first_seen = NOW - timedelta(days=3)
    many = ids(130)  # past both BatchWriteItem's 25 and BatchGetItem's 100
    ledger.remember(ACCOUNT, "eu-west-1", dict.fromkeys(many, first_seen), [], NOW)

    found = ledger.remembered(ACCOUNT, "eu-west-1", [*many, many[0], "eipalloc-unknown"])

    assert sorted(found) == many
    assert set(found.values()) == {Remembered(first_seen, NOW + REMEMBER_FOR)}
    assert ledger.remembered(ACCOUNT, "us-east-1", many) == {}
    assert ledger.remembered("222222222222", "eu-west-1", many) == {}
    assert item(dynamodb, f"eip-janitor-idle#{ACCOUNT}#eu-west-1#eipalloc-000") == {
        "id": {"S": f"eip-janitor-idle#{ACCOUNT}#eu-west-1#eipalloc-000"},
        "first_seen": {"N": epoch(first_seen)},
        "expiration": {"N": epoch(NOW + REMEMBER_FOR)},
    }


def test_forgotten_addresses_are_deleted_and_kept_ones_rewritten(ledger: RunLedger) -> None:
    many = ids(40)
    ledger.remember(ACCOUNT, "eu-west-1", dict.fromkeys(many, NOW), [], NOW)
    later = NOW + timedelta(days=40)

    ledger.remember(ACCOUNT, "eu-west-1", {many[0]: NOW}, [*many[1:30], many[1]], later)

    found = ledger.remembered(ACCOUNT, "eu-west-1", many)
    assert sorted(found) == [many[0], *many[30:]]
    assert found[many[0]] == Remembered(NOW, later + REMEMBER_FOR)
    assert found[many[30]] == Remembered(NOW, NOW + REMEMBER_FOR)


@pytest.mark.parametrize(
    ("left", "refresh"),
    [(REMEMBER_FOR / 2 - timedelta(seconds=1), True), (REMEMBER_FOR / 2, False), (REMEMBER_FOR, False)],
)
def test_a_remembered_address_is_rewritten_once_less_than_half_its_time_is_left(
    left: timedelta, refresh: bool
) -> None:
    assert Remembered(NOW - timedelta(days=90), NOW + left).needs_refresh(NOW) is refresh


def refusal(code: str) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), parsed


def answer(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 200, {}, None), {
        **parsed,
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


@pytest.fixture
def unprocessed(dynamodb: Any) -> dict[str, int]:
    """Each batch call answers with its whole request left unprocessed, `times[operation]` times; the
    calls so answered are not carried out."""
    times = {"BatchGetItem": 0, "BatchWriteItem": 0}
    asked: dict[str, Any] = {}

    def note(params: dict[str, Any], **_: Any) -> None:
        asked["RequestItems"] = params["RequestItems"]

    def leave_all(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if times[model.name] <= 0:
            return None
        times[model.name] -= 1
        key = "UnprocessedKeys" if model.name == "BatchGetItem" else "UnprocessedItems"
        return answer({key: asked["RequestItems"]})

    for operation in times:
        dynamodb.meta.events.register(f"provide-client-params.dynamodb.{operation}", note)
        dynamodb.meta.events.register(f"before-call.dynamodb.{operation}", leave_all)
    return times


def test_keys_left_unprocessed_are_tried_again(ledger: RunLedger, unprocessed: dict[str, int]) -> None:
    unprocessed["BatchWriteItem"] = UNPROCESSED_ATTEMPTS - 1
    ledger.remember(ACCOUNT, "eu-west-1", {"eipalloc-a": NOW}, [], NOW)
    unprocessed["BatchGetItem"] = UNPROCESSED_ATTEMPTS - 1

    assert list(ledger.remembered(ACCOUNT, "eu-west-1", ["eipalloc-a"])) == ["eipalloc-a"]


@pytest.mark.parametrize("operation", ["BatchGetItem", "BatchWriteItem"])
def test_keys_still_unprocessed_after_every_attempt_make_the_memory_unavailable(
    operation: str, ledger: RunLedger, unprocessed: dict[str, int]
) -> None:
    unprocessed[operation] = UNPROCESSED_ATTEMPTS

    with pytest.raises(LedgerUnavailable, match=f"{operation} left .* after {UNPROCESSED_ATTEMPTS} attempts"):
        if operation == "BatchGetItem":
            ledger.remembered(ACCOUNT, "eu-west-1", ["eipalloc-a"])
        else:
            ledger.remember(ACCOUNT, "eu-west-1", {"eipalloc-a": NOW}, [], NOW)
