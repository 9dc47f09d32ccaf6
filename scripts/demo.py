"""`make demo`: runs the whole pipeline on the embedded moto server, through SAM, and says what happened."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from scripts.pipeline.flow import FlowResult, run_flow
from scripts.pipeline.local_lambda import REPO_ROOT
from scripts.pipeline.moto_server import MotoServer
from scripts.pipeline.world import ALLOWED_ORIGIN

OUT_DIR = REPO_ROOT / "out" / "demo"
UPLOADS_TO_BAD_BUCKET = 20
# The CLI's exit codes (docs/cli.md): 0 done, 1 findings at or above --fail-on.
EXIT_OK, EXIT_FINDINGS = 0, 1


def moto_endpoint() -> MotoServer:
    def ask(action: str) -> str:
        script = REPO_ROOT / "scripts" / "local" / "moto-server.sh"
        proc = subprocess.run([str(script), action], check=True, capture_output=True, text=True)
        return proc.stdout.strip()

    return MotoServer(endpoint=ask("host-url"), container_endpoint=ask("url"))


def summary(result: FlowResult, out_dir: Path) -> str:
    world, lines = result.world, []
    lines.append(f"Uploads: {sum(result.uploads.values())} objects to {len(result.uploads)} buckets")
    lines.append(f"\nCORS auditor ({result.auditor_invocations} invocation(s) through sam local):")
    verdicts = {entry["bucket"]: entry for entry in result.audited}
    for bucket in world.buckets:
        entry = verdicts.get(bucket)
        if entry is None:
            lines.append(f"  {bucket:<16} not audited")
            continue
        findings = ", ".join(f"{f['severity']} {f['rule_id']}" for f in entry.get("findings", [])) or "-"
        verdict = f"{entry['status']:<14} severity {entry['severity']:<6}"
        lines.append(f"  {bucket:<16} {verdict} findings: {findings}")
    preview = result.janitor_dry_run
    lines.append(f"\nEIP janitor, dry run first (dry_run={preview.get('dry_run')}): idle addresses")
    for region, outcome in sorted(preview.get("regions", {}).items()):
        for idle in outcome.get("idle_addresses", []):
            lines.append(
                f"  {idle['public_ip'] or '-':<15} {idle['allocation_id']} {region}: idle since "
                f"{idle['idle_since']}, released on or after {idle['release_after']}"
            )
    lines.append(f"  would release {preview.get('would_release_count', 0)} address(es) now")
    report = result.janitor_report
    lines.append(f"\nEIP janitor, then the real run (dry_run={report.get('dry_run')}):")
    for region, outcome in sorted(report.get("regions", {}).items()):
        counts = ", ".join(
            f"{key} {len(value)}" for key, value in outcome.items() if isinstance(value, list) and value
        )
        lines.append(f"  {region:<12} {counts}")
    lines.append(
        f"  released {report.get('released_count', 0)} address(es), "
        f"saving about ${report.get('estimated_monthly_savings_usd', 0):.2f} a month"
    )
    guard = report.get("dns_guard", {})
    lines.append(
        f"  DNS guard {guard.get('status')}: {guard.get('zones_read', 0)} zone(s) read in "
        f"{guard.get('calls', 0)} Route 53 call(s); held back by DNS: {report.get('dns_protected_count', 0)}"
    )
    for region, outcome in sorted(report.get("regions", {}).items()):
        for held in outcome.get("dns_protected", []):
            names = ", ".join(f"{r['name']} ({r['zone']})" for r in held["records"])
            lines.append(f"    {held['public_ip']} {held['allocation_id']} {region}: still named by {names}")
    lines.append(
        "\nCross-account sweep (the hub functions through sam local: the planner plans each job's run from"
        " its schedule's event, then the job's worker sweeps from its work queue; the janitor dry-runs):"
    )
    for run in result.org_runs:
        failed = f", {run['failed_items']} work item(s) failed" if run["failed_items"] else ""
        lines.append(
            f"  {run['job']} run {run['run_id']}: {run['queued']} account(s) queued, "
            f"{run['invocations']} work invocation(s){failed}"
        )
        for part in run["parts"]:
            lines.append(f"    account {part['account_id']}: {part['status']}, {part['summary']}")
    delivered = len(result.delivered)
    lines.append(f"\nEmail sender ({result.sender_invocations} invocation(s)): {delivered} delivered")
    for mail in result.delivered:
        lines.append(f"  to {', '.join(mail.to)}: {mail.subject}")
    lines.append(f"  dead-letter queue: {len(result.dead_letters)} message(s)")
    for mail in result.delivered:
        if result.world.hostile_bucket in mail.subject:
            hostile = [line for line in mail.text_path.read_text().splitlines() if "<script>" in line]
            lines.append(f"  {result.world.hostile_bucket}'s email, text part, as sent: {hostile[:1]}")
            lines.append(f"    and its HTML part has no markup from it: {mail.html_path}")
    lines.append(f"\nRendered emails: {out_dir / 'emails'}")
    return "\n".join(lines)


CLI_PATH = [
    "cli",
    "layers/groundskeeper",
    "layers/org",
    "functions/cors_auditor",
    "functions/email_sender",
    "functions/eip_janitor",
]


def cli_run(moto: MotoServer, *argv: str) -> str:
    """One `groundskeeper` run against the embedded AWS: the CLI calls the same functions as the handlers."""
    env = {
        **os.environ,
        "MOTO_PORT": str(urlsplit(moto.endpoint).port),
        "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / part) for part in CLI_PATH),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "groundskeeper_cli", "--no-progress", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    shown = " ".join(["groundskeeper", *argv])
    output = proc.stdout.rstrip() or proc.stderr.rstrip()
    return f"\n$ {shown}   (exit {proc.returncode}: {exit_meaning(proc.returncode, argv)})\n{output}"


def exit_meaning(code: int, argv: Sequence[str]) -> str:
    """What the CLI's exit status says, in the words of its exit-code table (docs/cli.md)."""
    if code == EXIT_OK:
        return "nothing at or above --fail-on" if "--fail-on" in argv else "done"
    if code == EXIT_FINDINGS and "--fail-on" in argv:
        threshold = argv[argv.index("--fail-on") + 1]
        return f"a bucket is {threshold} or worse, so --fail-on {threshold} fails the step, as a CI gate does"
    return "see the message below"


# The CLI reads the auditor's settings from its environment or flags, as the deployed function reads its own:
# given the same allowlist it gives the same verdicts as the sam local run above.
CLI_AUDIT = ("--local", "audit-cors", "--all", "--allowed-origins", ALLOWED_ORIGIN, "--fail-on", "HIGH")
CLI_NOTE = (
    "\nThe same audit from a terminal or a CI job, with the groundskeeper CLI (docs/cli.md). It is given the"
    " auditor's ALLOWED_ORIGINS, so its verdicts match the ones above. Without an allowlist each origin is"
    " judged on its own instead of against the list: a non-https one is insecure-origin, an https one passes."
)


def main() -> int:
    moto = moto_endpoint()
    print(f"Embedded AWS: moto at {moto.endpoint} (functions use {moto.container_endpoint})", flush=True)
    print("Provisioning a fresh world, uploading, then running each function with sam local ...", flush=True)
    uploads = int(os.environ.get("DEMO_UPLOADS", UPLOADS_TO_BAD_BUCKET))
    result = run_flow(moto, uploads_to_bad=uploads, out_dir=OUT_DIR)
    print(summary(result, OUT_DIR))
    print(CLI_NOTE)
    print(cli_run(moto, *CLI_AUDIT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
