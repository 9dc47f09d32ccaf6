"""`make invoke FN=<LogicalId> EVENT=<file.json>`: a function through `sam local invoke`, on the embedded AWS.

The function gets the environment a deployed stack gives it, pointed at the moto server that `make moto-up`
runs: each queue, table and sender identity it names is created there first if missing (its name is printed),
then the function's result is printed. Exit 1 when the function raised (sam itself exits 0 then).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from scripts.pipeline.flow import publish_templates
from scripts.pipeline.moto_server import MotoServer
from scripts.pipeline.world import OWNERS, SENDER
from scripts.settings_table import environments, load_templates

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL = REPO_ROOT / "scripts" / "local"
ENV_FILE = REPO_ROOT / ".local" / "invoke-env.json"
REGION = "us-east-1"
EMAIL_QUEUE = "gk-local-email"
EMAIL_DLQ = "gk-local-email-dlq"
TABLE = "gk-local-idempotency"  # one table for idempotency, the run ledger and hub runs, as in template.yaml
JOURNAL = "gk-local-action-journal"
MEMBER_ACCOUNT = "222233334444"


def _queue(name: str, dead_letter: str | None = None) -> Callable[[MotoServer], str]:
    def make(moto: MotoServer) -> str:
        sqs = moto.client("sqs", REGION)
        attributes = {}
        if dead_letter is not None:
            dlq_url = sqs.create_queue(QueueName=dead_letter)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "5"})
        url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return moto.for_container(url)

    return make


def _table(name: str, *keys: str) -> Callable[[MotoServer], str]:
    def make(moto: MotoServer) -> str:
        dynamodb = moto.client("dynamodb", REGION)
        if name not in dynamodb.list_tables()["TableNames"]:
            dynamodb.create_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
                KeySchema=[
                    {"AttributeName": key, "KeyType": kind}
                    for key, kind in zip(keys, ("HASH", "RANGE"), strict=False)
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        return name

    return make


def _sender(moto: MotoServer) -> str:
    """A verified identity, and the bundled templates published, as `make sync-templates` does on deploy."""
    moto.client("ses", REGION).verify_email_identity(EmailAddress=SENDER)
    publish_templates(moto)
    return SENDER


def _value(value: str) -> Callable[[MotoServer], str]:
    return lambda _moto: value


# What each variable a function reads names, made on the moto server when missing. Variables not here keep
# the template's default.
RESOURCES: Mapping[str, Callable[[MotoServer], str]] = {
    "NOTIFY_QUEUE_URL": _queue(EMAIL_QUEUE, EMAIL_DLQ),
    "EMAIL_QUEUE_URL": _queue(EMAIL_QUEUE, EMAIL_DLQ),
    "DEAD_LETTER_QUEUE_URL": _queue(EMAIL_DLQ),
    "JANITOR_WORK_QUEUE_URL": _queue("gk-local-janitor-work", "gk-local-org-work-dlq"),
    "CORS_SWEEP_WORK_QUEUE_URL": _queue("gk-local-cors-sweep-work", "gk-local-org-work-dlq"),
    "ORG_DEAD_LETTER_QUEUE_URL": _queue("gk-local-org-work-dlq"),
    "IDEMPOTENCY_TABLE": _table(TABLE, "id"),
    "RUN_LEDGER_TABLE": _table(TABLE, "id"),
    "ORG_RUNS_TABLE": _table(TABLE, "id"),
    "CANARY_RECORDS_TABLE": _table(TABLE, "id"),
    "ACTION_JOURNAL_TABLE": _table(JOURNAL, "scope", "action"),
    "SENDER_EMAIL": _sender,
    "NOTIFY_EMAIL": _value(OWNERS),
    "MEMBER_ACCOUNTS": _value(MEMBER_ACCOUNT),
}


def function_variables() -> dict[str, list[str]]:
    """Each function's logical ID -> the variables it declares (template.yaml and its nested templates)."""
    return {
        where: list(variables) for where, variables in environments(load_templates()) if where != "Globals"
    }


def environment(
    fn: str, declared: Sequence[str], moto: MotoServer, overrides: Mapping[str, str]
) -> dict[str, str]:
    """The --env-vars entry for `fn`: moto as its AWS, and what each variable it declares names, made if
    missing."""
    variables = {"AWS_ENDPOINT_URL": moto.container_endpoint}
    for name in declared:
        make = RESOURCES.get(name)
        if make is not None and name not in overrides:
            variables[name] = make(moto)
            print(f"{fn}: {name}={variables[name]}", file=sys.stderr)
    variables.update(overrides)
    return variables


def _script(name: str, *args: str) -> str:
    proc = subprocess.run([str(LOCAL / name), *args], check=True, capture_output=True, text=True)
    return proc.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("function", metavar="FN", help="the function's logical ID in template.yaml")
    parser.add_argument(
        "event", metavar="EVENT", type=Path, help="the event file, e.g. events/schedule-eip-janitor.json"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="set a variable of the function (repeatable)",
    )
    args = parser.parse_args(argv)
    functions = function_variables()
    if args.function not in functions:
        parser.error(f"no function {args.function!r}; template.yaml has: {', '.join(sorted(functions))}")
    if not args.event.is_file():
        samples = ", ".join(
            sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "events").glob("*.json"))
        )
        parser.error(
            f"no event file {str(args.event)!r}; the samples are: {samples} (make email-event writes one)"
        )
    overrides = dict(pair.split("=", 1) for pair in args.env if "=" in pair)

    moto = MotoServer(_script("moto-server.sh", "host-url"), _script("moto-server.sh", "url"))
    variables = environment(args.function, functions[args.function], moto, overrides)
    ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    ENV_FILE.write_text(json.dumps({args.function: variables}, indent=2) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [
            str(LOCAL / "sam-local.sh"),
            "local",
            "invoke",
            args.function,
            "--skip-pull-image",
            "--env-vars",
            str(ENV_FILE),
            "--event",
            str(args.event),
        ],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    result = proc.stdout.strip()
    print(result)
    if proc.returncode != 0:
        return proc.returncode
    return 1 if '"errorType"' in result else 0


if __name__ == "__main__":
    sys.exit(main())
