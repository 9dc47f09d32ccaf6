"""Cloud Custodian on the org sweep: how long c7n-org takes to find the idle Elastic IPs (unassociated, report
only: a dry run, like the janitor's default) in every member account x region, and the buckets whose CORS
allows any origin in every member account, on the state the org sweep benchmark seeds, on a moto server, with
a simulated round trip slept before every HTTP request Custodian sends (and each request counted).

Custodian runs from .local/c7n-venv (bench.eip_janitor's ensure_c7n, plus c7n-org built against the same
c7n); it assumes each account's role through STS, which AWS_ENDPOINT_URL points at the moto server like EC2
and S3. When c7n-org can't be installed, plain `custodian run --assume` runs once per account, in turn.

Run: python -m bench.org_custodian   (spawns its own moto server; ORG_ACCOUNTS=<n> accounts, default 5;
ORG_DELAY=<seconds> per request, default the harness's RTT).
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.eip_janitor import C7N_VENV, C7N_VERSION, CREDENTIALS, ensure_c7n
from bench.harness import RTT, environment
from bench.org_sweep import BAD_CORS, REGIONS

C7N_ORG_VERSION = "0.6.52"  # the c7n-org release built against C7N_VERSION
EIP_POLICY = "idle-eips"
CORS_POLICY = "open-cors-buckets"

# Runs c7n-org (or custodian) with a sleep before every HTTP send, counting the sends of every process: the
# counter lives in shared memory and the workers are forked, so they inherit both it and the patch.
# c7n 0.9.53 has no CORS filter: its S3 augment table carries get_bucket_cors commented out. The one row
# added here lets a value filter read the rules, at one request per bucket, as a CORS check must pay.
C7N_ORG_WRAPPER = """\
import multiprocessing, sys, time
import botocore.endpoint
multiprocessing.set_start_method("fork", force=True)
DELAY = float(sys.argv.pop(1))
TOOL = sys.argv.pop(1)
calls = multiprocessing.Value("q", 0)
_send = botocore.endpoint.Endpoint._send
def _delayed_send(self, request):
    with calls.get_lock():
        calls.value += 1
    if DELAY:
        time.sleep(DELAY)
    return _send(self, request)
botocore.endpoint.Endpoint._send = _delayed_send
from c7n.resources import s3
s3.S3_AUGMENT_TABLE += (("get_bucket_cors", "Cors", None, "CORSRules", "s3:GetBucketCORS"),)
if TOOL == "c7n-org":
    from c7n_org.cli import cli as main
else:
    from c7n.cli import main
sys.argv[0] = TOOL
try:
    main()
finally:
    print(f"C7N_CALLS={calls.value}", file=sys.stderr)
"""

# c7n-org's log lines that name an account whose part failed.
FAILED_ACCOUNT = re.compile(
    r"(?:unable to obtain credentials for account:|Exception running policy:\S+ account:"
    r"|Access denied api:\S+ policy:\S+ account:|Error running policy in )(\S+)"
)


def policies(home_region: str) -> dict[str, Any]:
    """The sweep as Custodian policies. Buckets are global (an S3 policy lists them all in any region), so
    the CORS policy runs in the home region only; it fetches CORS (plus the Location and Tags c7n always
    fetches) rather than c7n's default ten sub-documents per bucket."""
    return {
        "policies": [
            {"name": EIP_POLICY, "resource": "aws.elastic-ip", "filters": [{"AssociationId": "absent"}]},
            {
                "name": CORS_POLICY,
                "resource": "aws.s3",
                "conditions": [{"region": home_region}],
                "query": [{"augment-keys": ["Cors"]}],
                "filters": [
                    {"type": "value", "key": "Cors[].AllowedOrigins[]", "op": "contains", "value": "*"}
                ],
            },
        ]
    }


def ensure_c7n_org() -> tuple[Path, bool] | None:
    """(the Custodian venv's python, whether c7n-org is in it), installing c7n-org when missing; None, with
    a note printed, when not even Custodian can be had."""
    python = ensure_c7n()
    if python is None:
        return None
    if not (C7N_VENV / "bin" / "c7n-org").exists():
        uv = Path(sys.executable).with_name("uv")
        installer = (
            [str(uv), "pip", "install", "--python", str(python)]
            if uv.exists()
            else [str(python), "-m", "pip", "install"]
        )
        wanted = [f"c7n-org=={C7N_ORG_VERSION}", f"c7n=={C7N_VERSION}"]  # c7n pinned: never upgraded by it
        try:
            subprocess.run([*installer, "-q", *wanted], check=True, capture_output=True, timeout=600)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            print(f"note: c7n-org unavailable ({exc}); running custodian once per account", file=sys.stderr)
            return python, False
    return python, True


VERSIONS_SCRIPT = """\
import json
from importlib.metadata import PackageNotFoundError, version
found = {}
for name in ("c7n", "c7n-org"):
    try:
        found[name] = version(name)
    except PackageNotFoundError:
        pass
print(json.dumps(found))
"""


def _versions(python: Path) -> dict[str, str]:
    """The versions installed in the Custodian venv (it may predate the pins above)."""
    listed = subprocess.run([str(python), "-c", VERSIONS_SCRIPT], capture_output=True, text=True, check=True)
    versions: dict[str, str] = json.loads(listed.stdout)
    return versions


def _run(command: list[str], cwd: str, env: dict[str, str]) -> tuple[float, int, str, int]:
    """(wall seconds, HTTP requests sent, stderr, exit status) of one wrapped Custodian command."""
    started = time.perf_counter()
    proc = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600, check=False
    )
    elapsed = time.perf_counter() - started
    counted = [line for line in proc.stderr.splitlines() if line.startswith("C7N_CALLS=")]
    return elapsed, int(counted[-1].split("=")[1]) if counted else 0, proc.stderr, proc.returncode


def _with_c7n_org(
    wrapper: list[str], tmp: str, env: dict[str, str], arns: dict[str, str], regions: tuple[str, ...]
) -> tuple[float, int, set[str], str]:
    """One c7n-org run over every account: (seconds, requests, failed accounts, how it ran)."""
    accounts = [
        {"account_id": a, "name": a, "role": arn, "regions": list(regions)} for a, arn in arns.items()
    ]
    Path(tmp, "accounts.yml").write_text(json.dumps({"accounts": accounts}))
    command = "c7n-org run -c accounts.yml -u policy.yml -s out --cache-period 0 --cache-path cache"
    seconds, calls, stderr, status = _run([*wrapper, *command.split()], tmp, env)
    failed = {m.group(1) for m in FAILED_ACCOUNT.finditer(stderr)}
    if status and not failed:
        raise RuntimeError(f"c7n-org failed:\n{stderr[-3000:]}")
    # Its worker processes: 4 per CPU unless C7N_ORG_PARALLEL says otherwise (c7n_org.cli.WORKER_COUNT).
    workers = int(env.get("C7N_ORG_PARALLEL") or 4 * (os.cpu_count() or 1))
    return (
        seconds,
        calls,
        failed,
        f"{len(arns) * len(regions)} account-regions in a pool of {workers} processes",
    )


def _with_custodian(
    wrapper: list[str], tmp: str, env: dict[str, str], arns: dict[str, str], regions: tuple[str, ...]
) -> tuple[float, int, set[str], str]:
    """`custodian run --assume` once per account, in turn: (summed seconds, requests, failures, how)."""
    seconds, calls, failed = 0.0, 0, set()
    region_args = [arg for region in regions for arg in ("-r", region)]
    for account, arn in arns.items():
        command = ["custodian", "run", "--cache-period", "0", "--assume", arn, "-s", f"out/{account}"]
        one_s, one_calls, _, status = _run([*wrapper, *command, *region_args, "policy.yml"], tmp, env)
        seconds += one_s
        calls += one_calls
        if status:
            failed.add(account)
    return (
        seconds,
        calls,
        failed,
        "c7n-org could not be installed: one custodian process per account, in turn",
    )


def custodian_org(
    endpoint: str,
    accounts: list[str],
    regions: tuple[str, ...],
    *,
    delay: float,
    role: str = "GroundskeeperMember",
) -> dict[str, Any] | None:
    """Custodian's sweep of `accounts` x `regions` through `role` on the server at `endpoint`, every HTTP
    request `delay` seconds longer: the tool, wall seconds, requests, matches and accounts that completed."""
    found = ensure_c7n_org()
    if found is None:
        return None
    python, have_org = found
    versions = _versions(python)
    env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
    env.pop("C7N_USE_STS_REGIONAL", None)  # with it, c7n would build https://sts.<region>.amazonaws.com
    env.pop("AWS_PROFILE", None)
    arns = {account: f"arn:aws:iam::{account}:role/{role}" for account in accounts}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "policy.yml").write_text(json.dumps(policies(regions[0])))  # JSON is YAML
        Path(tmp, "wrapper.py").write_text(C7N_ORG_WRAPPER)
        Path(tmp, "cache").mkdir()
        wrapper = [str(python), "wrapper.py", str(delay)]
        sweep = _with_c7n_org if have_org else _with_custodian
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds, calls, failed, how = sweep(wrapper, tmp, env, arns, regions)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        eip, cors, ok = _matches(Path(tmp, "out"), accounts, regions, failed)
    c7n = versions.get("c7n", C7N_VERSION)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime  # workers included: all reaped
    tool = (
        f"c7n-org {versions.get('c7n-org', C7N_ORG_VERSION)}"
        if have_org
        else f"c7n {c7n}, once per account, sequentially"
    )
    note = (
        f"{how}; c7n {c7n}; {delay * 1000:.0f} ms slept before each HTTP request; STS (one AssumeRole per "
        "account-region), EC2 and S3 all on moto through AWS_ENDPOINT_URL (c7n's STS client takes it: it "
        "builds a regional STS URL only with C7N_USE_STS_REGIONAL, unset); the S3 policy runs in "
        f"{regions[0]} only (buckets are global); CORS read through a get_bucket_cors row added to c7n's "
        "S3 augment table (c7n has no CORS filter), with augment-keys [Cors] so each bucket costs "
        "Location + Tags + CORS instead of c7n's default ten sub-documents; wall time includes "
        f"Custodian's start-up; its processes used {cpu:.1f} s of CPU on this machine's {os.cpu_count()} "
        "CPUs (which the moto server shares)"
    )
    return {
        "tool": tool,
        "seconds": round(seconds, 3),
        "calls": calls,
        "cpu": round(cpu, 1),
        "eip_matched": eip,
        "cors_matched": cors,
        "accounts_ok": ok,
        "accounts_failed": len(accounts) - ok,
        "note": note,
    }


def _matches(
    out: Path, accounts: list[str], regions: tuple[str, ...], failed: set[str]
) -> tuple[int, int, int]:
    """(idle addresses matched, open buckets matched, accounts whose every policy-region wrote its resources
    and logged no failure), from out/<account>/.../<policy>/resources.json."""
    matched = {EIP_POLICY: 0, CORS_POLICY: 0}
    ok = 0
    for account in accounts:
        written = {EIP_POLICY: 0, CORS_POLICY: 0}
        for resources in (out / account).rglob("resources.json"):
            policy = resources.parent.name
            if policy in matched:
                matched[policy] += len(json.loads(resources.read_text()))
                written[policy] += 1
        if account not in failed and written == {EIP_POLICY: len(regions), CORS_POLICY: 1}:
            ok += 1
    return matched[EIP_POLICY], matched[CORS_POLICY], ok


def main() -> int:
    from scripts.pipeline.moto_server import MotoServer
    from tests.integration.org.conftest import seed_member

    count = int(os.environ.get("ORG_ACCOUNTS", "5"))
    delay = float(os.environ.get("ORG_DELAY", str(RTT)))
    accounts = [f"{200000000000 + n}" for n in range(count)]
    server = MotoServer.spawn()
    try:
        with environment({**CREDENTIALS, "AWS_ENDPOINT_URL": server.endpoint}):
            print(f"seeding {count} accounts x {len(REGIONS)} regions ...", file=sys.stderr, flush=True)
            with ThreadPoolExecutor(max_workers=8) as seeders:
                list(seeders.map(lambda a: seed_member(a, REGIONS, BAD_CORS), accounts))
        print(f"running Custodian, {delay * 1000:.0f} ms per request ...", file=sys.stderr, flush=True)
        result = custodian_org(server.endpoint, accounts, REGIONS, delay=delay)
        print(json.dumps(result, indent=2), flush=True)  # before the server stops, whatever its stop does
    finally:
        server.stop()
    if result is None:
        return 0
    expected = {"eip_matched": 3 * len(REGIONS) * count, "cors_matched": count, "accounts_ok": count}
    wrong = {key: (result[key], want) for key, want in expected.items() if result[key] != want}
    if wrong:
        print(f"unexpected (got, expected): {wrong}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
