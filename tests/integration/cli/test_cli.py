"""The `groundskeeper` CLI under moto: each command through main(), the same functions as the handlers."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from groundskeeper.aws_clients import client
from groundskeeper_cli.app import main
from groundskeeper_cli.output import Progress, table

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

WILDCARD_WRITE = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"]}]}
WILDCARD_READ = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}
GOOD = {"CORSRules": [{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}]}
Run = Callable[..., tuple[int, str]]


@pytest.fixture(autouse=True)
def environment_restored() -> Iterator[None]:
    """main() sets the region, endpoint and credentials it resolved in os.environ, as a process would."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def run(aws: None, monkeypatch: pytest.MonkeyPatch) -> Run:
    """run(*argv) -> (exit code, stdout); the functions' settings come from a clean environment."""
    for name in ("ALLOWED_ORIGINS", "REMEDIATION", "JANITOR_REGIONS", "DRY_RUN", "SENDER_EMAIL"):
        monkeypatch.delenv(name, raising=False)

    def call(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        code = main(["--no-progress", *argv], stdout=out)
        return code, out.getvalue()

    return call


@pytest.fixture
def s3(aws: None) -> S3Client:
    return client("s3")


def make_bucket(s3: S3Client, name: str, cors: dict[str, Any] | None) -> None:
    s3.create_bucket(Bucket=name)
    if cors is not None:
        s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors)  # type: ignore[arg-type]


def test_audit_all_as_json_and_fail_on(s3: S3Client, run: Run) -> None:
    make_bucket(s3, "cli-bad", WILDCARD_WRITE)
    make_bucket(s3, "cli-read", WILDCARD_READ)
    make_bucket(s3, "cli-good", GOOD)
    make_bucket(s3, "cli-none", None)

    code, out = run("--json", "audit-cors", "--all")

    assert code == 0
    result = json.loads(out)
    assert {r["bucket"]: r["severity"] for r in result["audited"]} == {
        "cli-bad": "HIGH",
        "cli-read": "MEDIUM",
        "cli-good": "NONE",
        "cli-none": "NONE",
    }
    assert result["source"] == "cli"
    assert run("audit-cors", "--all", "--fail-on", "HIGH")[0] == 1
    assert run("audit-cors", "--bucket", "cli-read", "--bucket", "cli-good", "--fail-on", "HIGH")[0] == 0
    assert run("audit-cors", "--bucket", "cli-read", "--fail-on", "MEDIUM")[0] == 1


def test_the_table_and_the_allowlist_flag_and_tag(s3: S3Client, run: Run) -> None:
    make_bucket(
        s3,
        "cli-partner",
        {"CORSRules": [{"AllowedOrigins": ["https://p.example"], "AllowedMethods": ["GET"]}]},
    )
    s3.put_bucket_tagging(
        Bucket="cli-partner",
        Tagging={"TagSet": [{"Key": "groundskeeper:cors-allowed-origins", "Value": "+https://p.example"}]},
    )
    code, out = run("audit-cors", "--bucket", "cli-partner", "--allowed-origins", "https://app.example.com")
    assert code == 0
    header, row = out.strip().splitlines()
    assert header.split() == ["BUCKET", "STATUS", "SEVERITY", "FINDINGS", "REMEDIATED", "ALLOWLIST"]
    assert row.split() == ["cli-partner", "compliant", "NONE", "-", "False", "tag-added"]


def test_fix_then_restore_from_the_json_report(s3: S3Client, run: Run, tmp_path: Path) -> None:
    make_bucket(s3, "cli-fix", WILDCARD_WRITE)
    code, out = run(
        "--json", "audit-cors", "--bucket", "cli-fix", "--fix", "--allowed-origins", "https://a.example"
    )
    assert code == 0
    (report,) = json.loads(out)["audited"]
    assert report["remediated"] is True
    # The wildcard goes; the allowlisted origin it matched keeps its access.
    assert report["remediation"]["new_configuration"]["CORSRules"][0]["AllowedOrigins"] == [
        "https://a.example"
    ]
    saved = tmp_path / "report.json"
    saved.write_text(out)

    assert run("restore-cors", str(saved), "--dry-run")[0] == 0
    code, out = run("--json", "restore-cors", str(saved))

    assert (code, json.loads(out)) == (0, {"restored": {"cli-fix": "put"}})
    assert s3.get_bucket_cors(Bucket="cli-fix")["CORSRules"][0]["AllowedOrigins"] == ["*"]


def test_a_long_sweep_keeps_stdout_json_only(s3: S3Client, run: Run) -> None:
    """Past 100 values Powertools prints its metrics; the CLI sends them to stderr, not into the JSON."""
    for i in range(105):
        make_bucket(s3, f"cli-many-{i:03d}", WILDCARD_READ if i % 2 else None)
    code, out = run("--json", "audit-cors", "--all")
    assert code == 0
    assert len(json.loads(out)["audited"]) == 105


def test_bad_settings_exit_2(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("audit-cors", "--all", "--allowed-origins", "https://*.example.com")[0] == 2
    assert "ALLOWED_ORIGINS" in capsys.readouterr().err


def test_sweep_eips_is_a_dry_run_unless_apply(run: Run) -> None:
    ec2 = client("ec2")
    idle = ec2.allocate_address(Domain="vpc")["AllocationId"]

    code, out = run("--json", "sweep-eips", "--regions", "us-east-1")

    report = json.loads(out)
    assert code == 0
    assert report["dry_run"] is True
    assert report["regions"]["us-east-1"]["idle"] == 1
    # A dry run lists what it would mark, and writes no tag.
    assert report["regions"]["us-east-1"]["marked"] == [idle]
    assert not ec2.describe_addresses(AllocationIds=[idle])["Addresses"][0].get("Tags")
    assert run("sweep-eips", "--fail-on-idle")[0] == 1

    code, out = run("--json", "sweep-eips", "--apply")
    assert json.loads(out)["regions"]["us-east-1"]["marked"] == [idle]
    tags = ec2.describe_addresses(AllocationIds=[idle])["Addresses"][0].get("Tags", [])
    assert [t["Key"] for t in tags] == ["groundskeeper:idle-since"]


def test_templates_sync_list_get_delete(run: Run) -> None:
    code, out = run("--json", "templates", "sync")
    assert code == 0
    synced = json.loads(out)
    assert "cors-finding" in synced
    assert set(synced.values()) == {"created"}
    assert sorted(json.loads(run("--json", "templates", "list")[1])) == sorted(synced)
    assert json.loads(run("--json", "templates", "get", "cors-finding")[1])["TemplateName"] == "cors-finding"
    assert json.loads(run("--json", "templates", "delete", "cors-finding")[1]) == {"cors-finding": "deleted"}
    assert run("templates", "get")[0] == 2


def test_send_email_validates_renders_then_sends_or_queues(run: Run) -> None:
    ses = client("ses")
    ses.verify_email_identity(EmailAddress="gk@example.com")
    data = json.dumps({"name": "Ada"})
    ses.create_template(
        Template={
            "TemplateName": "hello",
            "SubjectPart": "Hi {{name}}",
            "TextPart": "Hello {{name}}",
            "HtmlPart": "",
        }
    )
    base = (
        "send-email",
        "--template",
        "hello",
        "--to",
        "ada@example.com",
        "--data",
        data,
        "--from",
        "gk@example.com",
    )

    code, out = run("--json", *base, "--dry-run")
    assert code == 0
    assert json.loads(out)["rendered"]["subject"] == "Hi Ada"

    code, out = run("--json", *base)
    assert code == 0
    assert set(json.loads(out)) == {"sent"}

    queue_url = client("sqs").create_queue(QueueName="emails")["QueueUrl"]
    code, out = run("--json", *base, "--queue-url", queue_url)
    assert code == 0
    (message,) = client("sqs").receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(message["Body"])["template"] == "hello"

    # What the sender would refuse is refused here, before any send: a bad address, a missing data field.
    assert run(*base[:4], "not-an-address", *base[5:])[0] == 2
    assert run(*base[:6], "{}", *base[7:])[0] == 2


def test_buckets_watch_keeps_existing_notifications(s3: S3Client, run: Run) -> None:
    sqs = client("sqs")
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="uploads")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    make_bucket(s3, "cli-watch", None)
    s3.put_bucket_notification_configuration(
        Bucket="cli-watch",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )

    puts: list[dict[str, Any]] = []
    s3.meta.events.register(
        "before-call.s3.PutBucketNotificationConfiguration",
        lambda params, **_: puts.append(params["body"]),  # type: ignore[misc]
    )

    code, out = run("--json", "buckets", "watch", "cli-watch")

    assert (code, json.loads(out)) == (0, [{"bucket": "cli-watch", "eventbridge": "enabled"}])
    (body,) = puts
    assert b"<EventBridgeConfiguration" in body
    assert queue_arn.encode() in body
    configuration = s3.get_bucket_notification_configuration(Bucket="cli-watch")
    assert configuration["QueueConfigurations"][0]["QueueArn"] == queue_arn


def test_buckets_watch_leaves_a_watched_bucket_alone(s3: S3Client, run: Run) -> None:
    make_bucket(s3, "cli-watched", None)
    # moto does not echo EventBridgeConfiguration back; S3 answers with an empty element, which botocore reads
    # as {}.
    s3.meta.events.register(
        "after-call.s3.GetBucketNotificationConfiguration",
        lambda parsed, **_: parsed.update(EventBridgeConfiguration={}),  # type: ignore[misc]
    )
    assert json.loads(run("--json", "buckets", "watch", "cli-watched")[1])[0]["eventbridge"] == "already"


def test_accounts_check_assumes_each_member_role(run: Run) -> None:
    code, out = run("--json", "accounts", "check", "--accounts", "111111111111,222222222222")
    rows = json.loads(out)
    assert code == 0
    assert [(r["account"], r["ok"]) for r in rows] == [("111111111111", True), ("222222222222", True)]
    assert "111111111111" in rows[0]["detail"]
    assert run("accounts", "check", "--accounts", "not-an-account")[0] == 2


def test_progress_bar_is_plain_text_on_stderr() -> None:
    stream = io.StringIO()
    bar = Progress(20, "buckets", stream=stream)
    for _ in range(20):
        bar.advance()
    lines = stream.getvalue().splitlines()
    assert lines[-1] == "buckets [" + "#" * 30 + "] 20/20"
    assert len(lines) == 11  # a line per tenth (0 to 10) when stderr is not a terminal


def test_table_shapes_cells() -> None:
    assert table([{"a": ["x", "y"], "b": None}], ["a", "b"]) == "A    B\nx,y  -"


def test_only_aws_region_is_enough(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README and --help promise AWS_REGION; botocore itself reads only AWS_DEFAULT_REGION."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    code, out = run("--json", "sweep-eips")

    assert code == 0
    assert list(json.loads(out)["regions"]) == ["eu-west-1"]


def test_no_region_at_all_says_what_to_set(
    run: Run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")

    assert run("sweep-eips")[0] == 2
    assert "AWS_REGION" in capsys.readouterr().err


def test_global_options_after_the_subcommand_too(s3: S3Client, run: Run) -> None:
    make_bucket(s3, "cli-after", WILDCARD_WRITE)

    code, out = run("audit-cors", "--all", "--json")
    assert code == 0
    assert json.loads(out)["audited"][0]["bucket"] == "cli-after"

    code, out = run("sweep-eips", "--region", "eu-west-1", "--json", "--verbose")
    assert code == 0
    assert list(json.loads(out)["regions"]) == ["eu-west-1"]
    # Before the subcommand still works, and a flag given before is not undone by the subcommand's default.
    assert json.loads(run("--json", "audit-cors", "--all")[1])["audited"][0]["bucket"] == "cli-after"


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A newcomer's shell: no keys, no profile files, no instance role."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def moto_on_a_port() -> Iterator[str]:
    """The embedded AWS as `make moto-up` runs it: a moto server on a loopback port (here a free one)."""
    from moto.server import ThreadedMotoServer

    from groundskeeper.aws_clients import reset_clients

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    reset_clients()
    try:
        yield str(server.get_host_and_port()[1])
    finally:
        reset_clients()
        server.stop()


def _local_run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["--no-progress", *argv], stdout=out), out.getvalue()


@pytest.mark.usefixtures("no_credentials")
def test_local_mode_talks_to_the_embedded_aws_with_dummy_credentials(
    moto_on_a_port: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_PORT", moto_on_a_port)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")

    code, out = _local_run("--local", "--json", "sweep-eips")

    assert code == 0, out
    assert list(json.loads(out)["regions"]) == ["us-east-1"]
    assert os.environ["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{moto_on_a_port}"


@pytest.mark.usefixtures("no_credentials")
def test_endpoint_url_after_the_subcommand_with_no_credentials(moto_on_a_port: str) -> None:
    code, out = _local_run("audit-cors", "--all", "--endpoint-url", f"http://127.0.0.1:{moto_on_a_port}")
    assert code == 0, out


@pytest.mark.usefixtures("no_credentials")
def test_no_credentials_says_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    from groundskeeper.aws_clients import reset_clients

    reset_clients()
    assert _local_run("sweep-eips")[0] == 2
    err = capsys.readouterr().err
    assert "AWS_PROFILE" in err
    assert "--local" in err


def test_send_email_dry_run_and_queue_need_no_sender(run: Run) -> None:
    """Only a direct send has a From; a dry run sends nothing, and the deployed sender has SENDER_EMAIL."""
    client("ses").create_template(
        Template={"TemplateName": "hello", "SubjectPart": "Hi {{name}}", "TextPart": "Hello", "HtmlPart": ""}
    )
    base = ("send-email", "--template", "hello", "--to", "ada@example.com", "--data", '{"name": "Ada"}')

    code, out = run("--json", *base, "--dry-run")
    assert code == 0, out
    assert json.loads(out)["rendered"]["subject"] == "Hi Ada"
    assert "from" not in json.loads(out)["would_send"]

    queue_url = client("sqs").create_queue(QueueName="emails")["QueueUrl"]
    assert run(*base, "--queue-url", queue_url)[0] == 0


def test_a_direct_send_without_a_sender_says_which_flag(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("send-email", "--template", "hello", "--to", "ada@example.com")[0] == 2
    assert "--from" in capsys.readouterr().err
