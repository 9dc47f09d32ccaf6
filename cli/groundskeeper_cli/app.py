"""`groundskeeper` argument parsing and dispatch: clients from the environment (AWS_PROFILE, AWS_REGION,
AWS_ENDPOINT_URL, as boto3 reads them), settings from the functions' own environment variables plus flags."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator, MutableMapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from groundskeeper.errors import CodedError, SettingsError, error_code, error_message
from groundskeeper_cli.output import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Progress, emit, table
from groundskeeper_org.settings import DEFAULT_ROLE_NAME as DEFAULT_MEMBER_ROLE

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

SEVERITIES = ("LOW", "MEDIUM", "HIGH")
SEVERITY_RANK = {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}


# The embedded AWS of the local loop (`make moto-up`): a moto server on the loopback, on MOTO_PORT.
DEFAULT_MOTO_PORT = "5055"
# moto accepts any key; these only keep botocore from looking for real credentials (and failing without any).
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
LOCAL_REGION = "us-east-1"
_HINTS = {
    NoRegionError: "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass --region",
    NoCredentialsError: "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY); against the embedded AWS (make moto-up) pass --local, which uses dummy ones",
}


def _global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The options every command takes, before or after its name. After it, an option left out keeps what
    was given before the name (SUPPRESS: the subcommand does not write its default over it)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if after_command else value

    parser.add_argument("--json", action="store_true", default=default(False), help="print JSON, not a table")
    parser.add_argument(
        "--region",
        default=default(None),
        help="AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's)",
    )
    parser.add_argument(
        "--endpoint-url",
        default=default(None),
        help="send every AWS call there (default: AWS_ENDPOINT_URL); with no credentials set, dummy ones",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        default=default(False),
        help="the embedded AWS (make moto-up): http://127.0.0.1:$MOTO_PORT (5055), dummy credentials, "
        f"region {LOCAL_REGION} unless one is set",
    )
    parser.add_argument(
        "--no-progress", action="store_true", default=default(False), help="no progress bar on stderr"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=default(False),
        help="the functions' INFO log lines, on stderr",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groundskeeper",
        description="Groundskeeper's CORS audit, EIP sweep and email sending, outside Lambda. AWS_PROFILE, "
        "AWS_REGION and AWS_ENDPOINT_URL are honoured; settings come from the functions' environment "
        "variables (ALLOWED_ORIGINS, JANITOR_REGIONS, ...) unless a flag sets them. The options below go "
        "before or after the command. Exit codes: 0 done, 1 findings at or above --fail-on (or failures), "
        "2 bad usage, settings or AWS error.",
    )
    _global_options(parser, after_command=False)
    after = argparse.ArgumentParser(add_help=False)
    _global_options(after, after_command=True)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, parents=[after])

    audit = command("audit-cors", "audit bucket CORS (the auditor's run_audit)")
    which = audit.add_mutually_exclusive_group(required=True)
    which.add_argument("--bucket", action="append", help="a bucket to audit (repeatable)")
    which.add_argument("--all", action="store_true", help="every bucket of the account")
    audit.add_argument("--fix", action="store_true", help="rewrite offending origins (REMEDIATION=fix)")
    audit.add_argument("--allowed-origins", help="comma-separated allowlist (default: ALLOWED_ORIGINS)")
    audit.add_argument("--fail-on", choices=SEVERITIES, help="exit 1 when a bucket is at least this severe")

    restore = command("restore-cors", "put back CORS saved by a remediation")
    restore.add_argument("file", help="an audit-cors --json report, a log line or a configuration; - = stdin")
    restore.add_argument("--bucket", help="the bucket (needed for a bare configuration)")
    restore.add_argument("--dry-run", action="store_true", help="show what would be written")

    sweep = command("sweep-eips", "the EIP janitor's run (a dry run unless --apply)")
    sweep.add_argument("--regions", help="comma-separated regions, or all (default: JANITOR_REGIONS)")
    sweep.add_argument("--apply", action="store_true", help="mark and release for real")
    sweep.add_argument("--max-releases", type=int, help="release cap (default: MAX_RELEASES_PER_RUN)")
    sweep.add_argument("--fail-on-idle", action="store_true", help="exit 1 when an idle address is found")

    send = command("send-email", "validate, render and send one email as the sender does")
    send.add_argument("--template", required=True)
    send.add_argument("--to", action="append", required=True, help="a recipient (repeatable)")
    send.add_argument("--data", default="{}", help="template data, a JSON object")
    send.add_argument("--from", dest="sender", default="", help="From address (default: SENDER_EMAIL)")
    send.add_argument("--queue-url", help="queue it for the deployed sender instead of sending directly")
    send.add_argument("--dry-run", action="store_true", help="validate and render only")

    tpl = command("templates", "the SES templates (template_sync)")
    tpl.add_argument("action", choices=["sync", "list", "get", "delete"])
    tpl.add_argument("name", nargs="?", help="a template name (sync: only this bundled one)")

    accounts = command("accounts", "member accounts (hub and spoke)")
    accounts.add_argument("action", choices=["check"], help="can the hub assume each member role?")
    accounts.add_argument("--accounts", help="account ids, or organization (default: MEMBER_ACCOUNTS)")
    accounts.add_argument(
        "--role-name", help=f"member role (default: MEMBER_ROLE_NAME or {DEFAULT_MEMBER_ROLE})"
    )

    buckets = command("buckets", "existing buckets and WatchedBuckets")
    buckets.add_argument("action", choices=["watch"], help="send the bucket's S3 events to EventBridge")
    buckets.add_argument("bucket", nargs="+")
    return parser


@contextlib.contextmanager
def _functions_quiet(verbose: bool) -> Iterator[None]:
    """The functions log JSON to stdout for CloudWatch, and Powertools flushes metrics with print: here stdout
    is the CLI's output, so all of that goes to stderr (INFO lines only with --verbose), then is put back."""
    from groundskeeper.observability import logger

    handler = logger.registered_handler
    stream = handler.setStream(sys.stderr) if isinstance(handler, logging.StreamHandler) else None
    level = logger.log_level
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        logger.setLevel(level)
        if stream is not None and isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    out = stdout or sys.stdout
    _configure_aws(args, os.environ)
    try:
        _check_credentials()
        with _functions_quiet(args.verbose):
            document, text, failing = _run(args)
    except (SettingsError, ValueError, CodedError) as exc:
        print(f"groundskeeper: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (NoRegionError, NoCredentialsError) as exc:
        print(f"groundskeeper: {_HINTS[type(exc)]}", file=sys.stderr)
        return EXIT_USAGE
    except (ClientError, BotoCoreError) as exc:
        print(
            f"groundskeeper: AWS said {error_code(exc) or type(exc).__name__}: {error_message(exc)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    finally:
        from groundskeeper.observability import metrics

        metrics.clear_metrics()
    emit(document, text, as_json=args.json, stream=out)
    return EXIT_FINDINGS if failing else EXIT_OK


def _configure_aws(args: argparse.Namespace, environ: MutableMapping[str, str]) -> None:
    """Region, endpoint and credentials for every client this run makes, set where boto3 reads them.

    botocore reads the region from AWS_DEFAULT_REGION only; AWS_REGION (what Lambda and the AWS CLI set)
    comes first here, as in the AWS CLI. An endpoint that is not AWS gets dummy keys when none are set, and
    --local always uses them, so no real credentials are looked for (or sent) there.
    """
    endpoint = args.endpoint_url
    if args.local and not endpoint:
        endpoint = f"http://127.0.0.1:{environ.get('MOTO_PORT') or DEFAULT_MOTO_PORT}"
    if endpoint:
        environ["AWS_ENDPOINT_URL"] = endpoint
        has_credentials = environ.get("AWS_ACCESS_KEY_ID") or environ.get("AWS_PROFILE")
        if args.local or not has_credentials:
            environ.pop("AWS_PROFILE", None)
            environ.pop("AWS_SESSION_TOKEN", None)
            environ.update(DUMMY_CREDENTIALS)
    region = args.region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region and args.local:
        region = LOCAL_REGION
    if region:
        environ["AWS_DEFAULT_REGION"] = environ["AWS_REGION"] = region


def _check_credentials() -> None:
    """Raises NoCredentialsError up front: a janitor sweep would otherwise report it once per address."""
    import boto3

    if boto3.session.Session().get_credentials() is None:
        raise NoCredentialsError


def _progress(args: argparse.Namespace, label: str) -> Any:
    return lambda total: Progress(total, label, enabled=not args.no_progress)


def _run(args: argparse.Namespace) -> tuple[Any, str, bool]:
    """(document for --json, text for the table, whether to exit 1)."""
    handlers = {
        "audit-cors": _audit_cors,
        "restore-cors": _restore_cors,
        "sweep-eips": _sweep_eips,
        "send-email": _send_email,
        "templates": _templates,
        "accounts": _accounts,
        "buckets": _buckets,
    }
    return handlers[args.command](args)


def _audit_cors(args: argparse.Namespace) -> tuple[Any, str, bool]:
    from cors_auditor.settings import Settings
    from groundskeeper.aws_clients import client
    from groundskeeper.notify import Notifier
    from groundskeeper_cli.commands import audit_cors

    environ = dict(os.environ)
    if args.allowed_origins is not None:
        environ["ALLOWED_ORIGINS"] = args.allowed_origins
    # Emails are the deployed auditor's job: a CLI run only reports.
    settings = replace(Settings.from_env(environ), notify=Notifier())
    if args.fix:
        settings = replace(settings, remediation="fix")
    result = audit_cors(
        client("s3"), settings, None if args.all else args.bucket, progress=_progress(args, "buckets")
    )
    rows = [
        {
            "bucket": r["bucket"],
            "status": r["status"],
            "severity": r["severity"],
            "findings": sorted({f["rule_id"] for f in r["findings"]}),
            "remediated": r["remediated"],
            "allowlist": r.get("allowlist_source"),
        }
        for r in result["audited"]
    ]
    text = table(rows, ["bucket", "status", "severity", "findings", "remediated", "allowlist"])
    if result["skipped"]:
        text += f"\nskipped: {result['skip_reasons']}"
    failing = args.fail_on is not None and any(
        SEVERITY_RANK[r["severity"]] >= SEVERITY_RANK[args.fail_on] for r in result["audited"]
    )
    return result, text, failing


def _restore_cors(args: argparse.Namespace) -> tuple[Any, str, bool]:
    from groundskeeper.aws_clients import client
    from groundskeeper_cli.commands import restore_cors

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    result = restore_cors(client("s3"), json.loads(text), args.bucket, dry_run=args.dry_run)
    done = result.get("restored") or {b: "would restore" for b in result.get("would_restore", {})}
    return result, table([{"bucket": b, "action": a} for b, a in done.items()], ["bucket", "action"]), False


def _sweep_eips(args: argparse.Namespace) -> tuple[Any, str, bool]:
    from eip_janitor.settings import Settings
    from groundskeeper.aws_clients import client
    from groundskeeper.notify import Notifier
    from groundskeeper_cli.commands import sweep_eips

    environ = dict(os.environ)
    environ["DRY_RUN"] = "false" if args.apply else "true"
    if args.regions is not None:
        environ["JANITOR_REGIONS"] = args.regions
    if args.max_releases is not None:
        environ["MAX_RELEASES_PER_RUN"] = str(args.max_releases)
    settings = replace(Settings.from_env(environ), notify=Notifier())

    def ec2_for(region: str) -> EC2Client:
        return client("ec2", region)

    own_region = client("ec2").meta.region_name
    report = sweep_eips(
        settings,
        ec2_for=ec2_for,
        own_region=own_region,
        route53=client("route53") if settings.dns_guard else None,
        progress=_progress(args, "regions"),
    )
    rows = [
        {
            "region": region,
            "addresses": entry["addresses"],
            "idle": entry["idle"],
            "marked": len(entry["marked"]),
            "released": len(entry["released"]),
            "would_release": len(entry["would_release"]),
            "dns_protected": len(entry["dns_protected"]),
            "errors": len(entry["errors"]),
        }
        for region, entry in sorted(report["regions"].items())
    ]
    mode = "dry run" if report["dry_run"] else "applied"
    text = table(rows, list(rows[0]) if rows else ["region"]) + (
        f"\n{mode}: released {report['released_count']}, would release {report['would_release_count']},"
        f" est. ${report['estimated_monthly_savings_usd']}/month"
    )
    failing = report["error_count"] > 0 or (args.fail_on_idle and any(r["idle"] for r in rows))
    return report, text, failing


def _send_email(args: argparse.Namespace) -> tuple[Any, str, bool]:
    from groundskeeper.aws_clients import client, single_attempt_client
    from groundskeeper_cli.commands import send_one_email

    data = json.loads(args.data)
    if not isinstance(data, dict):
        raise ValueError("--data must be a JSON object")
    result = send_one_email(
        # A direct send is made once, never retried by botocore (a lost answer must not become two emails).
        client("ses") if args.dry_run or args.queue_url else single_attempt_client("ses"),
        template=args.template,
        to=args.to,
        data=data,
        sender=args.sender or os.environ.get("SENDER_EMAIL", ""),
        queue=(client("sqs"), args.queue_url) if args.queue_url else None,
        configuration_set=os.environ.get("SES_CONFIGURATION_SET", ""),
        dry_run=args.dry_run,
    )
    if args.dry_run:
        text = f"subject: {result['rendered']['subject']}\n\n{result['rendered']['text']}"
    else:
        text = "\n".join(f"{key}: {value}" for key, value in result.items())
    return result, text, False


def _templates(args: argparse.Namespace) -> tuple[Any, str, bool]:
    from groundskeeper.aws_clients import client
    from groundskeeper_cli.commands import templates

    result = templates(client("ses"), args.action, args.name)
    if isinstance(result, list):
        text = "\n".join(result)
    elif args.action == "get":
        text = json.dumps(result, indent=2)
    else:
        text = table([{"template": k, "result": v} for k, v in result.items()], ["template", "result"])
    return result, text, False


def _accounts(args: argparse.Namespace) -> tuple[Any, str, bool]:
    import boto3

    from groundskeeper_org.accounts import AccountSessions, check_access, list_member_accounts
    from groundskeeper_org.settings import MemberAccounts

    members = MemberAccounts.parse(args.accounts or os.environ.get("MEMBER_ACCOUNTS", ""))
    role = args.role_name or os.environ.get("MEMBER_ROLE_NAME") or DEFAULT_MEMBER_ROLE
    sts = boto3.client("sts")
    own = sts.get_caller_identity()["Account"]
    organizations = boto3.client("organizations") if members.organization else None
    account_ids = list_member_accounts(members, own_account=own, organizations=organizations)
    sessions = AccountSessions(sts, role_name=role, own_account=own)
    results = check_access(sessions, account_ids)
    rows = [
        {"account": r.account_id, "ok": r.ok, "code": r.code, "detail": r.arn if r.ok else r.message}
        for r in results
    ]
    return rows, table(rows, ["account", "ok", "code", "detail"]), not all(r.ok for r in results)


def _buckets(args: argparse.Namespace) -> tuple[Any, str, bool]:
    from groundskeeper.aws_clients import client
    from groundskeeper_cli.bucket_events import watch_bucket

    s3 = client("s3")
    rows = [{"bucket": bucket, "eventbridge": watch_bucket(s3, bucket)} for bucket in args.bucket]
    return rows, table(rows, ["bucket", "eventbridge"]), False
