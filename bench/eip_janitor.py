"""Benchmark of the EIP janitor: 16 regions x 50 addresses on a moto server, against its own slowest
region and against Cloud Custodian releasing the same fleet, with and without a simulated round trip;
and what the DNS guard adds to a run (Route 53 calls, wall time) with DNS_ZONES zones of DNS_RECORDS records;
and what writing each release down in the action journal costs (AWS calls per release, before and after).

Run: python -m bench.eip_janitor   (starts its own moto server; Custodian runs from .local/c7n-venv,
which this script creates from PyPI when it can, and skips with a note when it cannot).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from bench.harness import REPO_ROOT, instrument, row
from scripts.pipeline.moto_server import MotoServer

if TYPE_CHECKING:
    from eip_janitor.report import JanitorReport
    from eip_janitor.settings import Settings

REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1",
    "ap-southeast-2", "sa-east-1",
]  # fmt: skip
PER_REGION = 50
IDLE_PER_REGION = 35
DELAY_S = 0.030  # a typical in-region AWS round trip, added to every HTTP request on both sides
# The DNS guard's load: zones (half public, half private) of records pointing at addresses not in the fleet,
# plus one record naming one idle address of the fleet, which the guard must hold back.
DNS_ZONES = 10
DNS_RECORDS = 500
ROUTE53_PAGE = 300  # ListResourceRecordSets' default page; ListHostedZones' is 100
GUARD_REPEATS = 3
# The journal's figures: one region, this many due addresses, released with and without the journal.
JOURNAL_RELEASES = 20
JOURNAL_TABLE = "bench-action-journal"
C7N_VERSION = "0.9.53"
C7N_VENV = REPO_ROOT / ".local" / "c7n-venv"
EXEMPT = "groundskeeper:keep"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}

# Custodian's equivalent of our release step: release every unassociated address that is not exempt.
C7N_POLICY = f"""\
policies:
  - name: release-idle-eips
    resource: aws.elastic-ip
    filters:
      - AssociationId: absent
      - "tag:{EXEMPT}": absent
    actions:
      - release
"""

# Runs Custodian with the same simulated round trip (a sleep per HTTP send) and counts its requests.
C7N_WRAPPER = """\
import atexit, sys, time
import botocore.endpoint
DELAY = float(sys.argv.pop(1))
calls = [0]
_send = botocore.endpoint.Endpoint._send
def _delayed_send(self, request):
    calls[0] += 1
    if DELAY:
        time.sleep(DELAY)
    return _send(self, request)
botocore.endpoint.Endpoint._send = _delayed_send
atexit.register(lambda: print(f"C7N_CALLS={calls[0]}", file=sys.stderr))
from c7n.cli import main
sys.argv[0] = "custodian"
main()
"""


def seed(endpoint: str, regions: list[str]) -> None:
    """50 addresses per region: 35 idle (untagged), 15 associated with their own network interface."""

    def one(region: str) -> None:
        ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        for n in range(PER_REGION):
            allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
            if n >= IDLE_PER_REGION:
                eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
                ec2.associate_address(AllocationId=allocation, NetworkInterfaceId=eni)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, regions))


def remaining(endpoint: str, regions: list[str]) -> int:
    return sum(
        len(boto3.client("ec2", region_name=r, endpoint_url=endpoint).describe_addresses()["Addresses"])
        for r in regions
    )


def hooked_ec2(hook: Callable[[Any], None]) -> Callable[[str], Any]:
    """The janitor's ec2_for: the layer's cached client per region, created inside the timed run like in a
    cold Lambda, with `hook` applied once to each (the janitor asks again for a region it releases in)."""
    from groundskeeper import aws_clients

    hooked: set[str] = set()
    lock = threading.Lock()

    def ec2_for(region: str) -> Any:
        ec2 = aws_clients.client("ec2", region)
        with lock:
            if region not in hooked:
                hook(ec2)
                hooked.add(region)
        return ec2

    return ec2_for


def timed_run(
    settings: Settings, regions: list[str], ec2_for: Callable[[str], Any], route53: Any = None
) -> tuple[float, JanitorReport]:
    """One run_janitor call as the scheduled handler makes it, but with no email: (seconds, report)."""
    from eip_janitor.janitor import run_janitor
    from groundskeeper.observability import metrics

    started = time.perf_counter()
    report = run_janitor(
        settings,
        ec2_for=ec2_for,
        sqs=None,
        own_region=regions[0],
        now=datetime.now(UTC),
        run_id="bench",
        route53=route53,
    )
    elapsed = time.perf_counter() - started
    metrics.clear_metrics()
    return elapsed, report


def sweep(regions: list[str], *, delay: float, release: bool) -> tuple[float, int, JanitorReport]:
    """One janitor run through run_janitor with cold clients: (seconds, EC2 HTTP requests, report)."""
    from eip_janitor.settings import Settings
    from groundskeeper import aws_clients

    aws_clients.reset_clients()
    calls = [0]
    lock = threading.Lock()

    def round_trip(**_: Any) -> None:
        with lock:
            calls[0] += 1
        if delay:
            time.sleep(delay)

    settings = (
        Settings(dry_run=False, grace_period_hours=0, max_releases_per_run=100_000, regions=tuple(regions))
        if release
        else Settings(dry_run=False, regions=tuple(regions))
    )
    ec2_for = hooked_ec2(lambda ec2: ec2.meta.events.register("before-send.ec2", round_trip))
    elapsed, report = timed_run(settings, regions, ec2_for)
    expected = IDLE_PER_REGION * len(regions)
    done = report["released_count"] if release else report["marked_count"]
    if done != expected or report["error_count"]:
        raise RuntimeError(f"janitor did {done} of {expected} with {report['error_count']} errors")
    return elapsed, calls[0], report


def seed_zones(endpoint: str, named_ip: str) -> int:
    """DNS_ZONES zones of DNS_RECORDS A records each; returns the pages the guard must read (the floor)."""
    route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint)
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    record_pages = 0
    for z in range(DNS_ZONES):
        name = f"zone{z}.bench.example."
        private: dict[str, Any] = (
            {"HostedZoneConfig": {"PrivateZone": True}, "VPC": {"VPCRegion": "us-east-1", "VPCId": vpc}}
            if z % 2
            else {}
        )
        zone_id = route53.create_hosted_zone(Name=name, CallerReference=name, **private)["HostedZone"]["Id"]
        changes = [
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": f"host{n}.{name}",
                    "Type": "A",
                    "TTL": 300,
                    "ResourceRecords": [{"Value": named_ip if (z, n) == (0, 0) else f"198.18.{z}.{n % 250}"}],
                },
            }
            for n in range(DNS_RECORDS)
        ]
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
        total = len(
            route53.list_resource_record_sets(HostedZoneId=zone_id, MaxItems="1000")["ResourceRecordSets"]
        )
        record_pages += -(-total // ROUTE53_PAGE)  # every zone also has its SOA and NS records
    return 1 + record_pages  # one ListHostedZones page holds up to 100 zones


def guarded_dry_run(
    regions: list[str], *, delay: float, guard: bool
) -> tuple[float, Counter[str], dict[str, Any]]:
    """A dry run that would release every idle address (grace 0, no cap), so it changes nothing and can be
    repeated on the same fleet: (seconds, API calls by operation, report), with the guard on or off."""
    from eip_janitor.settings import Settings
    from groundskeeper import aws_clients

    aws_clients.reset_clients()
    calls: Counter[str] = Counter()
    ec2_for = hooked_ec2(lambda ec2: instrument(ec2, calls, delay))
    route53 = None
    if guard:
        route53 = aws_clients.client("route53")
        instrument(route53, calls, delay)
    settings = Settings(
        dry_run=True,
        grace_period_hours=0,
        max_releases_per_run=100_000,
        regions=tuple(regions),
        dns_guard=guard,
    )
    elapsed, report = timed_run(settings, regions, ec2_for, route53)
    if report["error_count"] or (guard and report["dns_guard"]["status"] != "ok"):
        raise RuntimeError(f"guarded dry run failed: {report['dns_guard']}, {report['error_count']} errors")
    return elapsed, calls, dict(report)


def time_index_alone(delay: float) -> float:
    """Seconds to read every zone once, without the sweep: what the guard costs when nothing overlaps it."""
    from eip_janitor.dns_index import build_dns_index
    from groundskeeper import aws_clients

    aws_clients.reset_clients()
    route53 = aws_clients.client("route53")
    instrument(route53, Counter(), delay)
    started = time.perf_counter()
    build_dns_index(route53)
    return time.perf_counter() - started


def dns_guard_rows(server: MotoServer, *, delay: float, tag: str, suffix: str) -> list[dict[str, Any]]:
    """EIP4: the Route 53 calls the guard adds per run, against the floor; EIP5: wall time, on vs off."""
    server.reset()
    seed(server.endpoint, REGIONS)
    idle = next(
        a["PublicIp"]
        for a in boto3.client(
            "ec2", region_name=REGIONS[0], endpoint_url=server.endpoint
        ).describe_addresses()["Addresses"]
        if not a.get("AssociationId")
    )
    floor = seed_zones(server.endpoint, idle)
    on_s: list[float] = []
    off_s: list[float] = []
    for _ in range(GUARD_REPEATS):  # alternated, so drift in the machine's load hits both sides alike
        seconds, on_calls, report = guarded_dry_run(REGIONS, delay=delay, guard=True)
        on_s.append(seconds)
        seconds, off_calls, _ = guarded_dry_run(REGIONS, delay=delay, guard=False)
        off_s.append(seconds)
    _, small_calls, _ = guarded_dry_run(REGIONS[:1], delay=delay, guard=True)
    index_s = time_index_alone(delay)
    added = {name: n - off_calls.get(name, 0) for name, n in on_calls.items() if n != off_calls.get(name, 0)}
    route53_calls = sum(added.values())
    small_route53 = small_calls["ListHostedZones"] + small_calls["ListResourceRecordSets"]
    addresses = PER_REGION * len(REGIONS)
    on, off = statistics.median(on_s), statistics.median(off_s)
    rows = [
        row(
            f"EIP5{suffix}",
            f"DNS guard: dry-run release sweep, 16 x 50, guard on vs off, {DNS_ZONES} zones x {DNS_RECORDS} "
            f"records ({tag})",
            on,
            off,
            unit="s",
            note=f"median of {GUARD_REPEATS}; +{(on - off) * 1000:.0f} ms; the index alone takes "
            f"{index_s:.2f} s ({route53_calls} sequential pages: {route53_calls * delay:.2f} s of round "
            "trips, the rest moto's server), read while the regions are swept; "
            f"held back {report['dns_protected_count']} (expected 1)",
        )
    ]
    if delay:  # the calls do not depend on the round trip: one row
        rows.append(
            row(
                "EIP4",
                f"Route 53 calls the DNS guard adds per run, {DNS_ZONES} zones x {DNS_RECORDS} records, "
                f"{addresses} addresses, vs 1 + zone pages + record pages",
                route53_calls,
                floor,
                unit="calls/run",
                note=f"goal 1.0x; {added}; the same fleet in 1 region (50 addresses): {small_route53} calls; "
                "no EC2 call added",
            )
        )
    return rows


def ensure_c7n() -> Path | None:
    """Custodian in its own venv (never the project's); None, with a note printed, when it can't be had."""
    custodian_python = C7N_VENV / "bin" / "python"
    if not custodian_python.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(C7N_VENV)], check=True, capture_output=True)
            # uv (scripts/local/venv.sh puts it in the project's venv) when there is one: it is faster.
            uv = Path(sys.executable).parent / "uv"
            install = (
                [str(uv), "pip", "install", "-q", "--python", str(custodian_python)]
                if uv.exists()
                else [str(custodian_python), "-m", "pip", "install", "-q"]
            )
            subprocess.run([*install, f"c7n=={C7N_VERSION}"], check=True, capture_output=True, timeout=600)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            print(f"note: Cloud Custodian unavailable ({exc}); skipping the peer comparison", file=sys.stderr)
            return None
    return custodian_python


def custodian(python: Path, endpoint: str, regions: list[str], *, delay: float) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "policy.yml").write_text(C7N_POLICY)
        (Path(tmp) / "wrapper.py").write_text(C7N_WRAPPER)
        region_args = [arg for region in regions for arg in ("-r", region)]
        started = time.perf_counter()
        proc = subprocess.run(
            [
                str(python),
                "wrapper.py",
                str(delay),
                "run",
                "--cache-period",
                "0",
                "-s",
                "out",
                "policy.yml",
                *region_args,
            ],
            cwd=tmp,
            env={**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": endpoint},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"custodian failed:\n{proc.stderr[-2000:]}")
    calls = [line for line in proc.stderr.splitlines() if line.startswith("C7N_CALLS=")]
    return elapsed, int(calls[-1].split("=")[1]) if calls else 0


def journaled_release_run(server: MotoServer, *, journaled: bool) -> Counter[str]:
    """A real run over JOURNAL_RELEASES due addresses in one region: AWS calls by operation."""
    from eip_janitor.janitor import run_janitor
    from eip_janitor.releases import run_scope
    from eip_janitor.settings import Settings
    from groundskeeper import aws_clients
    from groundskeeper.action_journal import KEY_SCHEMA, ActionJournal
    from groundskeeper.observability import metrics

    region = REGIONS[0]
    server.reset()
    due = (datetime.now(UTC).replace(year=datetime.now(UTC).year - 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=server.endpoint)
    spec = [{"ResourceType": "elastic-ip", "Tags": [{"Key": "groundskeeper:idle-since", "Value": due}]}]
    for _ in range(JOURNAL_RELEASES):
        ec2.allocate_address(Domain="vpc", TagSpecifications=spec)  # type: ignore[list-item]
    aws_clients.reset_clients()
    calls: Counter[str] = Counter()
    journal = None
    if journaled:
        dynamodb = aws_clients.client("dynamodb")
        dynamodb.create_table(
            TableName=JOURNAL_TABLE,
            **KEY_SCHEMA,
            BillingMode="PAY_PER_REQUEST",
        )
        instrument(dynamodb, calls, 0.0)
        journal = ActionJournal(dynamodb, JOURNAL_TABLE).scoped(run_scope("bench-journal"))
    report = run_janitor(
        Settings(dry_run=False, regions=(region,), max_releases_per_run=JOURNAL_RELEASES),
        ec2_for=hooked_ec2(lambda client: instrument(client, calls, 0.0)),
        sqs=None,
        own_region=region,
        now=datetime.now(UTC),
        run_id="bench-journal",
        route53=None,
        journal=journal,
    )
    metrics.clear_metrics()
    if report["released_count"] != JOURNAL_RELEASES or report["error_count"]:
        raise RuntimeError(f"released {report['released_count']} of {JOURNAL_RELEASES}")
    calls.pop("CreateTable", None)
    return calls


def journal_rows(server: MotoServer) -> list[dict[str, Any]]:
    """EIP6: AWS calls per release, journaled (intent PutItem, ReleaseAddress, outcome UpdateItem) vs not;
    EIP7: all of a run's AWS calls per release, with the run's one Query and the describes."""
    with_journal = journaled_release_run(server, journaled=True)
    without = journaled_release_run(server, journaled=False)
    per_release = (
        sum(with_journal[op] for op in ("PutItem", "ReleaseAddress", "UpdateItem")) / JOURNAL_RELEASES
    )
    per_release_bare = without["ReleaseAddress"] / JOURNAL_RELEASES
    total, total_bare = sum(with_journal.values()), sum(without.values())
    print(
        f"action journal: {per_release:.1f} AWS calls per release with the journal vs {per_release_bare:.1f} "
        f"without; a run of {JOURNAL_RELEASES} releases: {total} calls vs {total_bare} "
        f"({total / JOURNAL_RELEASES:.2f} vs {total_bare / JOURNAL_RELEASES:.2f} per release; "
        f"{dict(with_journal)})",
        file=sys.stderr,
    )
    return [
        row(
            "EIP6",
            "AWS calls per address release, journaled vs not",
            per_release,
            per_release_bare,
            unit="calls",
            note="intent PutItem + ReleaseAddress + outcome UpdateItem vs ReleaseAddress alone",
        ),
        row(
            "EIP7",
            f"AWS calls per release, a run of {JOURNAL_RELEASES} releases in one region, journaled vs not",
            total / JOURNAL_RELEASES,
            total_bare / JOURNAL_RELEASES,
            unit="calls",
            note=f"one Query per run ({with_journal['Query']} here) and two writes per release",
        ),
    ]


def run() -> list[dict[str, Any]]:
    os.environ.update(CREDENTIALS)
    from groundskeeper.observability import logger

    # 560 recovery log lines per run would drown the table; the run itself is what we time.
    logger.setLevel("WARNING")
    c7n_python = ensure_c7n()
    rows: list[dict[str, Any]] = []
    # In its own process, so that its CPU does not share our interpreter's GIL.
    server = MotoServer.spawn()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    try:
        for delay, tag in ((0.0, "no delay"), (DELAY_S, f"{int(DELAY_S * 1000)} ms round trip")):
            rows += _variant(server, c7n_python, delay=delay, tag=tag)
        rows += journal_rows(server)
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        server.stop()
    return rows


def _variant(server: MotoServer, c7n_python: Path | None, *, delay: float, tag: str) -> list[dict[str, Any]]:
    """All figures for one round-trip setting; every comparison starts from the same freshly seeded fleet."""
    suffix = "-30ms" if delay else "-raw"
    addresses = PER_REGION * len(REGIONS)
    server.reset()
    seed(server.endpoint, REGIONS)
    # Untimed: the first EC2 client in the process loads and parses botocore's EC2 model from disk,
    # which would otherwise inflate whichever region happens to be measured first.
    boto3.client("ec2", region_name=REGIONS[0]).describe_regions()
    # Each region swept alone (its first, marking run, then a release-everything run); the other
    # regions' fleets are untouched by it.
    single_marks = [sweep([region], delay=delay, release=False)[0] for region in REGIONS]
    single_releases = [sweep([region], delay=delay, release=True)[0] for region in REGIONS]

    server.reset()
    seed(server.endpoint, REGIONS)
    mark_s, mark_calls, _ = sweep(REGIONS, delay=delay, release=False)
    release_s, release_calls, _ = sweep(REGIONS, delay=delay, release=True)
    left = remaining(server.endpoint, REGIONS)
    # The server's own ceiling: with no delay the release sweep is pure moto CPU time per request.
    rows = [
        row(
            f"P4-sweep{suffix}",
            f"daily sweep (describe, decide, mark), 16 regions x 50 vs slowest single region ({tag})",
            mark_s,
            max(single_marks),
            unit="s",
            note=f"goal <= 1.5x; single regions {min(single_marks):.2f}-{max(single_marks):.2f} s; "
            f"{mark_calls / addresses:.3f} AWS calls per address (CreateTags batched per region)",
        ),
        row(
            f"EIP2{suffix}",
            f"release-everything sweep (grace 0, no cap), 16 regions x 50 vs slowest single region ({tag})",
            release_s,
            max(single_releases),
            unit="s",
            note=f"single regions {min(single_releases):.2f}-{max(single_releases):.2f} s; "
            f"{release_calls} requests, so moto's CPU (one server, 2 cores) bounds the sweep from below; "
            f"{left} of 240 associated addresses left (expected 240)",
        ),
    ]
    c7n: tuple[float, int] | None = None
    if c7n_python is not None:
        server.reset()
        seed(server.endpoint, REGIONS)
        c7n = custodian(c7n_python, server.endpoint, REGIONS, delay=delay)
        c7n_left = remaining(server.endpoint, REGIONS)
        rows.append(
            row(
                f"EIP3{suffix}",
                f"release-everything sweep, 16 regions x 50: ours vs Cloud Custodian {C7N_VERSION} ({tag})",
                release_s,
                c7n[0],
                unit="s",
                note=f"same seeded fleet; Custodian left {c7n_left} of 240 associated (expected 240)",
            )
        )
    if delay:  # the calls do not depend on the round trip: one row
        released = IDLE_PER_REGION * len(REGIONS)
        floor = (2 * len(REGIONS) + released) / released
        peer = (
            f"Cloud Custodian sent {c7n[1] / released:.2f} per released address "
            f"({c7n[1] / addresses:.2f} per fleet address, ours {release_calls / addresses:.2f}) and never "
            "re-checks"
            if c7n
            else "Custodian not run"
        )
        rows.append(
            row(
                "P4",
                f"EC2 calls per released address, release-everything sweep, 16 x 50 ({released} idle)",
                release_calls / released,
                floor,
                unit="calls/address",
                note="baseline = the floor (per region one describe to sweep and one to re-check, "
                f"one release per address); goal <= 1.0x; {peer}",
            )
        )
    rows += dns_guard_rows(server, delay=delay, tag=tag, suffix=suffix)
    return rows


def run_journal_only() -> list[dict[str, Any]]:
    """The journal's rows alone (`python -m bench.eip_janitor journal`): seconds, not the whole bench."""
    os.environ.update(CREDENTIALS)
    from groundskeeper.observability import logger

    logger.setLevel("WARNING")
    server = MotoServer.spawn()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    try:
        return journal_rows(server)
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        server.stop()


if __name__ == "__main__":
    from bench.table import render

    print(render(run_journal_only() if sys.argv[1:] == ["journal"] else run()))
