"""The template validates with SAM's linter and builds into the layout Lambda expects."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import REPO_ROOT
from tests.local.conftest import LOCAL_LOOP, LOCAL_SCRIPTS

BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"

pytestmark = LOCAL_LOOP


def test_sam_validate_lint_is_clean() -> None:
    proc = subprocess.run(
        [str(LOCAL_SCRIPTS / "sam-local.sh"), "validate", "--lint"],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "is a valid SAM Template" in proc.stdout + proc.stderr


def test_build_puts_the_layer_under_python_and_leaves_boto3_to_the_runtime(sam_built: None) -> None:
    layer = BUILD_DIR / "CommonLayer" / "python"
    assert (layer / "groundskeeper" / "aws_clients.py").is_file()
    assert (layer / "aws_lambda_powertools").is_dir()
    assert not (layer / "boto3").exists(), "boto3 comes with the runtime; bundling it only costs cold start"


def test_build_ships_bytecode_because_lambda_cannot_write_it(sam_built: None) -> None:
    layer = BUILD_DIR / "CommonLayer" / "python"
    assert list((layer / "aws_lambda_powertools" / "__pycache__").glob("__init__.cpython-313.pyc"))
    assert list((layer / "groundskeeper" / "__pycache__").glob("aws_clients.cpython-313.pyc"))


def test_build_has_each_function_with_its_handler_module(sam_built: None) -> None:
    for logical_id, module in [
        ("CorsAuditorFunction", "cors_auditor/handlers/uploads.py"),
        ("CorsChangeAuditFunction", "cors_auditor/handlers/cors_change.py"),
        ("CorsSweepFunction", "cors_auditor/handlers/sweep.py"),
        ("WatchedBucketsAuditFunction", "cors_auditor/handlers/watched_buckets.py"),
        ("CorsOrgWorkerFunction", "cors_auditor/handlers/org_work.py"),
        ("EipJanitorFunction", "eip_janitor/handlers/schedule.py"),
        ("EipOrgWorkerFunction", "eip_janitor/handlers/org_work.py"),
        ("OrgPlannerFunction", "org_planner/handler.py"),
        ("EmailSenderFunction", "email_sender/handler.py"),
    ]:
        assert (BUILD_DIR / logical_id / module).is_file(), logical_id
