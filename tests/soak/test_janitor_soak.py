"""The janitor's random-fleet soak: many random fleets under in-process moto, with the faults real EC2 has.

Each fleet mixes idle, in-grace, long-idle, associated, exempt and special addresses, with malformed idle
tags among them. Special addresses are what moto cannot make, added to the janitor's view by an `after-call`
hook on DescribeAddresses: `ServiceManaged`, BYOIP (a `PublicIpv4Pool` that is not amazon), customer-owned
(`CustomerOwnedIp` / `CustomerOwnedIpv4Pool`) and carrier (`CarrierIp`). A `before-call` hook makes
ReleaseAddress refuse, as EC2 does, an address that is associated (`InvalidIPAddress.InUse`) or has a
reverse-DNS record (`InvalidAddress.PtrSet`); moto would release both. Races are injected the same way: an
address associated, or released by someone else, right after the sweep; another associated right after the
re-check, so only EC2's refusal stands between it and a release.

After every run: no wrongful release (associated, exempt, special, reverse-DNS, or not yet due), the cap
held, a dry run wrote nothing, and the report agrees with moto's state.
tried = addresses seen, lost = due addresses the report does not account for, duplicated = an address
released twice or listed under two outcomes, wrong = wrongful releases and report/state mismatches,
crashed = runs that raised.
"""

from __future__ import annotations

import inspect
import random
import string
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import moto
import pytest

from eip_janitor.decisions import format_idle_tag
from eip_janitor.janitor import run_janitor
from eip_janitor.settings import Settings
from groundskeeper.aws_clients import client, reset_clients
from groundskeeper.observability import logger, metrics
from tests.integration.eip_janitor.conftest import IDLE, KEEP, Fleet, call_params, ec2_error
from tests.soak.report import Tally, publish, seed, size

REGIONS = ("us-east-1", "eu-west-1")
SPECIAL_FIELDS: tuple[dict[str, str], ...] = (
    {"ServiceManaged": "alb"},
    {"ServiceManaged": "nlb"},
    {"PublicIpv4Pool": "ipv4pool-ec2-0123456789abcdef0"},
    {"CustomerOwnedIp": "10.1.2.3", "CustomerOwnedIpv4Pool": "ipv4pool-coip-0123"},
    {"CustomerOwnedIpv4Pool": "ipv4pool-coip-4567"},
    {"CarrierIp": "155.146.0.1"},
)
MALFORMED_TAGS = (
    "",
    "yesterday",
    "0001-01-01T00:00:00+01:00",  # year 1 an hour east of UTC: out of datetime's range in UTC
    "9999-12-31T23:59:59-01:00",  # past year 9999 in UTC
    "2026-13-01T00:00:00Z",
    "1700000000",
    "x" * 200,
    "2020-01-01T00:00:00+99:00",
)
KINDS = (
    "idle",
    "due",
    "grace",
    "future",
    "malformed",
    "associated",
    "associated-tagged",
    "exempt",
    "special",
    "ptr",
    "race-sweep",
    "race-release",
    "race-gone",
    "dns-a",
    "dns-cname",
)
RACES = frozenset({"race-sweep", "race-release", "race-gone"})
# The Route 53 guard (never release an address a DNS record points at) is exercised once the janitor has it.
DNS_GUARD = "route53" in inspect.signature(run_janitor).parameters and "dns_guard" in {
    f.name for f in fields(Settings)
}


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(string.printable[:94] + " ") for _ in range(rng.randint(1, 30)))


def stamp(now: datetime, hours: float) -> str:
    return format_idle_tag(now - timedelta(hours=hours))


def readable_idle_since(value: str) -> datetime | None:
    """The idle tag's documented reading (docs/eip-janitor.md), written independently of the janitor."""
    text = value.strip()
    if len(text) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


@dataclass
class Plan:
    """One random fleet and the settings of the run over it."""

    settings: Settings
    kinds: dict[str, str] = field(default_factory=dict)  # allocation id -> kind
    regions: dict[str, str] = field(default_factory=dict)  # allocation id -> region
    special: dict[str, dict[str, str]] = field(default_factory=dict)
    dns_named: set[str] = field(default_factory=set)  # a Route 53 record points at these
    dns_guard: bool = False  # the run reads Route 53 before releasing
    dns_fails: bool = False  # ...and a zone cannot be read, so the run must release nothing


@dataclass
class Observed:
    """What the hooks saw EC2 do during one run (regions run in threads: hence the lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    released: Counter[str] = field(default_factory=Counter)
    at_release: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)
    gone: set[str] = field(default_factory=set)
    races: int = 0


def tags_of(address: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in address.get("Tags") or []}


def associated(address: dict[str, Any]) -> bool:
    return any(address.get(k) for k in ("AssociationId", "InstanceId", "NetworkInterfaceId"))


def build(rng: random.Random, fleet: Fleet, now: datetime) -> Plan:
    dry_run = rng.random() < 0.25
    dns_guard = DNS_GUARD and rng.random() < 0.8
    settings = Settings(
        dry_run=dry_run,
        grace_period_hours=rng.choice([0, 1, 24, 168]),
        regions=tuple(rng.sample(REGIONS, rng.randint(1, len(REGIONS)))),
        max_releases_per_run=rng.randint(0, 12),
        **({"dns_guard": dns_guard} if DNS_GUARD else {}),
    )
    plan = Plan(settings, dns_guard=dns_guard, dns_fails=dns_guard and rng.random() < 0.1)
    records: list[dict[str, Any]] = [a_record("decoy.soak.example.com.", "192.0.2.1")]
    for region in settings.regions:
        for _ in range(rng.randint(0, 16)):
            kind = rng.choice(KINDS)
            if dry_run and kind in RACES:
                kind = "due"  # a dry run must change nothing, so nothing else may change the fleet either
            tags: dict[str, str] = {}
            if (
                kind in ("due", "ptr", "special", "exempt", "associated-tagged", "dns-a", "dns-cname")
                or kind in RACES
            ):
                tags[IDLE] = stamp(now, rng.randint(1, 24 * 60) * 1.0 + 0.5 + settings.grace_period_hours)
            elif kind == "grace":
                tags[IDLE] = stamp(now, rng.uniform(0.1, max(0.2, settings.grace_period_hours - 0.1)))
            elif kind == "future":
                tags[IDLE] = stamp(now, -rng.randint(1, 48))
            elif kind == "malformed":
                tags[IDLE] = rng.choice([*MALFORMED_TAGS, random_text(rng)])
            if kind == "exempt":
                tags[KEEP] = rng.choice(["", "true", "db failover"])
            allocation_id = fleet.allocate(region, **tags)
            if kind.startswith("associated"):
                fleet.associate(allocation_id, region)
            plan.kinds[allocation_id] = kind
            plan.regions[allocation_id] = region
            if kind == "special":
                plan.special[allocation_id] = rng.choice(SPECIAL_FIELDS)
            if kind.startswith("dns-"):
                ip = fleet.addresses(region)[allocation_id]["PublicIp"]
                name = f"{kind}-{len(records)}.soak.example.com."
                records.append(a_record(name, ip) if kind == "dns-a" else cname_record(name, ip, region))
                plan.dns_named.add(allocation_id)
    if dns_guard:
        route53 = fleet.clients["route53"]
        zone = route53.create_hosted_zone(Name="soak.example.com.", CallerReference=str(rng.random()))
        changes = [{"Action": "CREATE", "ResourceRecordSet": record} for record in records]
        route53.change_resource_record_sets(
            HostedZoneId=zone["HostedZone"]["Id"], ChangeBatch={"Changes": changes}
        )
    return plan


def a_record(name: str, ip: str) -> dict[str, Any]:
    return {"Name": name, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": ip}]}


def cname_record(name: str, ip: str, region: str) -> dict[str, Any]:
    """A CNAME to the address's EC2 public host name, which resolves to the same IP."""
    dashed = ip.replace(".", "-")
    host = (
        f"ec2-{dashed}.compute-1.amazonaws.com"
        if region == "us-east-1"
        else f"ec2-{dashed}.{region}.compute.amazonaws.com"
    )
    return {"Name": name, "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": host}]}


def snapshot(fleet: Fleet, regions: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {aid: a for region in regions for aid, a in fleet.addresses(region).items()}


@dataclass
class Current:
    """The run the hooks serve: the janitor's clients live for the whole soak, the fleets one run each."""

    plan: Plan | None = None
    fleet: Fleet | None = None
    observed: Observed | None = None

    def parts(self) -> tuple[Plan, Fleet, Observed]:
        assert self.plan is not None and self.fleet is not None and self.observed is not None
        return self.plan, self.fleet, self.observed


def install_hooks(current: Current, region: str) -> None:
    """EC2's behaviour that moto lacks, and the races, on the janitor's own (cached) client of a region."""

    def remember_kind(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["soak_recheck"] = any(key.startswith("Filter") for key in call_params(params))

    def describe_answered(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        plan, fleet, observed = current.parts()
        for address in parsed.get("Addresses", []):
            address.update(plan.special.get(address.get("AllocationId", ""), {}))
        for address in parsed.get("Addresses", []):
            aid = address.get("AllocationId", "")
            kind = plan.kinds.get(aid)
            recheck = bool(context.get("soak_recheck"))
            if not (
                (kind in ("race-sweep", "race-gone") and not recheck) or (kind == "race-release" and recheck)
            ):
                continue
            with observed.lock:
                observed.races += 1
            if kind == "race-gone":
                fleet.ec2(region).release_address(AllocationId=aid)
                observed.gone.add(aid)
            else:
                fleet.associate(aid, region)

    def release_asked(params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        plan, fleet, observed = current.parts()
        body = call_params(params)
        if body.get("DryRun") == "true":
            return None
        aid = body.get("AllocationId", "")
        found = fleet.ec2(region).describe_addresses(Filters=[{"Name": "allocation-id", "Values": [aid]}])
        if not found["Addresses"]:
            return None  # moto answers InvalidAllocationID.NotFound, as EC2 would
        if plan.kinds.get(aid) == "ptr":
            code = "InvalidAddress.PtrSet"
        elif associated(found["Addresses"][0]):
            code = "InvalidIPAddress.InUse"
        else:
            context["soak_release"] = aid
            with observed.lock:
                observed.at_release[aid] = found["Addresses"][0]
            return None
        with observed.lock:
            observed.refused[code] += 1
        return ec2_error(code)

    def release_done(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        _, _, observed = current.parts()
        if "soak_release" in context and http_response.status_code == 200:
            with observed.lock:
                observed.released[context["soak_release"]] += 1

    events = client("ec2", region).meta.events
    if DNS_GUARD and region == REGIONS[0]:

        def zone_unreadable(**_: Any) -> Any:
            plan, _, _ = current.parts()
            return ec2_error("Throttling") if plan.dns_fails else None

        client("route53").meta.events.register("before-call.route-53.ListResourceRecordSets", zone_unreadable)
    events.register("before-call.ec2.DescribeAddresses", remember_kind)
    events.register("after-call.ec2.DescribeAddresses", describe_answered)
    events.register("before-call.ec2.ReleaseAddress", release_asked)
    events.register("after-call.ec2.ReleaseAddress", release_done)


def wrongful(aid: str, address: dict[str, Any], plan: Plan, now: datetime) -> str:
    """Why releasing this address (as EC2 held it at the release call) was wrong; "" when it was fine."""
    settings = plan.settings
    tags = tags_of(address)
    since = readable_idle_since(tags[IDLE]) if IDLE in tags else None
    not_due = settings.grace_period_hours > 0 and (
        since is None or since > now or now - since < timedelta(hours=settings.grace_period_hours)
    )
    reasons = [
        ("associated", associated(address)),
        ("exempt", settings.exempt_tag_key in tags),
        (f"special {plan.special.get(aid)}", aid in plan.special),
        ("reverse DNS set", plan.kinds.get(aid) == "ptr"),
        (f"not yet due (idle tag {tags.get(IDLE)!r})", not_due),
        ("named by a DNS record", plan.dns_guard and aid in plan.dns_named),
        ("released while the DNS guard could not read a zone", plan.dns_fails),
    ]
    return next((reason for reason, applies in reasons if applies), "")


def due(aid: str, address: dict[str, Any], plan: Plan, now: datetime) -> bool:
    """Should the sweep have made this address a release candidate (before the cap)?"""
    return not wrongful(aid, address, plan, now)


@dataclass
class Run:
    """One finished run: its plan, what it reported, the fleet before and after, what the hooks saw."""

    plan: Plan
    report: dict[str, Any]
    before: dict[str, dict[str, Any]]
    after: dict[str, dict[str, Any]]
    observed: Observed
    now: datetime

    @property
    def released(self) -> list[str]:
        return [aid for entry in self.report["regions"].values() for aid in entry["released"]]

    def listed(self, outcome: str) -> list[str]:
        return [aid for entry in self.report["regions"].values() for aid in entry[outcome]]


def check_releases(run: Run, tally: Tally) -> None:
    """No wrongful release, none twice, and the cap held."""
    plan, observed = run.plan, run.observed
    for aid, address in observed.at_release.items():
        if observed.released[aid] and (why := wrongful(aid, address, plan, run.now)):
            tally.fail("wrong", f"released {aid} ({plan.kinds[aid]}): {why}")
    for aid, times in observed.released.items():
        if times > 1:
            tally.fail("duplicated", f"{aid} released {times} times")
    cap = plan.settings.max_releases_per_run
    if len(run.released) > cap or run.report["would_release_count"] > cap:
        tally.fail("wrong", f"cap {cap} exceeded: {run.report}")


def check_state(run: Run, tally: Tally) -> None:
    """A dry run wrote nothing; a real run's report says exactly what moto's state shows."""
    released, before, after = run.released, run.before, run.after
    if run.plan.settings.dry_run:
        if after != before or released or run.observed.released:
            tally.fail("wrong", f"a dry run changed the fleet (released {released})")
        return
    vanished = set(before) - set(after) - run.observed.gone
    if vanished != set(released) or set(run.observed.released) != set(released):
        tally.fail("wrong", f"report released {sorted(released)}, moto lost {sorted(vanished)}")
    if run.report["released_count"] != len(released):
        tally.fail("wrong", f"released_count {run.report['released_count']} for {len(released)} releases")
    for aid in run.listed("marked"):
        if tags_of(after.get(aid, {})).get(IDLE) != format_idle_tag(run.now):
            tally.fail("wrong", f"{aid} reported marked, but moto has {tags_of(after.get(aid, {}))}")
    for aid in run.listed("unmarked"):
        if aid in after and IDLE in tags_of(after[aid]):
            tally.fail("wrong", f"{aid} reported unmarked, but still tagged in moto")


def check_accounting(run: Run, tally: Tally) -> None:
    """Each region's report saw every address, lists each under one outcome, and misses no due address."""
    plan = run.plan
    for region, entry in run.report["regions"].items():
        mine = {aid: a for aid, a in run.before.items() if plan.regions.get(aid) == region}
        if entry["addresses"] != len(mine):
            tally.fail("wrong", f"{region}: report saw {entry['addresses']} addresses, moto had {len(mine)}")
        outcomes = [
            *(
                aid
                for name in ("released", "would_release", "marked", "unmarked", "exempt", "deferred")
                for aid in entry[name]
            ),
            *(s["allocation_id"] for s in entry["skipped"]),
        ]
        for aid, count in Counter(outcomes).items():
            if count > 1:
                tally.fail("duplicated", f"{aid} listed under {count} outcomes in {region}")
        accounted = set(outcomes) | {e["allocation_id"] for e in entry["errors"]}
        for aid, address in mine.items():
            if due(aid, address, plan, run.now) and aid not in accounted:
                tally.fail("lost", f"due {aid} ({plan.kinds[aid]}) is in no list of the report")


def run_fleet(rng: random.Random, current: Current, plain: dict[str, Any], tally: Tally) -> None:
    with moto.mock_aws():
        fleet = Fleet(clients=plain)
        now = datetime.now(UTC).replace(microsecond=0)
        plan = build(rng, fleet, now)
        before = snapshot(fleet, plan.settings.regions)
        observed = Observed()
        current.plan, current.fleet, current.observed = plan, fleet, observed
        tally.tried += len(before)
        tally.note("dry runs" if plan.settings.dry_run else "real runs")
        tally.note("DNS-named addresses", len(plan.dns_named) if plan.dns_guard else 0)
        tally.note("runs whose DNS guard failed", int(plan.dns_fails))
        try:
            report: dict[str, Any] = dict(
                run_janitor(
                    plan.settings,
                    ec2_for=lambda region: client("ec2", region),
                    sqs=None,
                    own_region="us-east-1",
                    now=now,
                    run_id="soak",
                    **({"route53": client("route53")} if plan.dns_guard else {}),
                )
            )
        except Exception as exc:  # noqa: BLE001 - a soak counts every crash and goes on
            tally.fail("crashed", f"{type(exc).__name__}: {exc}")
            return
        finally:
            metrics.clear_metrics()
        run = Run(plan, report, before, snapshot(fleet, plan.settings.regions), observed, now)
        check_releases(run, tally)
        check_state(run, tally)
        check_accounting(run, tally)
        tally.note("races injected", observed.races)
        tally.note("released", sum(observed.released.values()))
        for code, count in observed.refused.items():
            tally.note(f"refused {code}", count)


def test_janitor_random_fleets(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto loads thousands of AMIs into every new EC2 backend; the janitor never looks at one.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    rng = random.Random(seed())
    tally = Tally("janitor random fleets")
    fleets = size(ci=30, full=320)
    level = logger.log_level
    logger.setLevel("WARNING")  # every release logs a recovery line; thousands of them say nothing here
    # Clients are made once, before any thread needs one; each run gets a fresh moto account.
    reset_clients()
    current = Current()
    plain: dict[str, Any] = {region: boto3.client("ec2", region_name=region) for region in REGIONS}
    plain["route53"] = boto3.client("route53", region_name="us-east-1")
    for region in REGIONS:
        install_hooks(current, region)
    started = time.perf_counter()
    try:
        for _ in range(fleets):
            run_fleet(rng, current, plain, tally)
    finally:
        logger.setLevel(level)
        reset_clients()
    tally.seconds = time.perf_counter() - started
    tally.note("fleets", fleets)
    publish(tally)
    assert tally.clean, tally.summary()
