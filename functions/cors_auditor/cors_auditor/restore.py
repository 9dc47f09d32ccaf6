"""Puts a bucket's CORS back as it was before remediation: `python -m cors_auditor.restore FILE [--bucket B]`.

FILE (or - for stdin) may be the handler's whole result, one bucket's report, the "previous CORS configuration
saved" log line, or a bare configuration ({"CORSRules": [...]}, with --bucket). A saved configuration with no
rules means the bucket had no CORS: restoring deletes the configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cors_auditor.bucket_store import write_cors
from cors_auditor.rules import cors_rules
from groundskeeper.aws_clients import client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def saved_configurations(document: Any, bucket: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """bucket -> the CORSRules to put back, from any document the auditor writes (see the module doc)."""
    if isinstance(document, dict) and isinstance(document.get("audited"), list):
        found: dict[str, list[dict[str, Any]]] = {}
        for report in document["audited"]:
            if isinstance(report, dict) and report.get("remediated"):
                found.update(saved_configurations(report, bucket))
        return found
    if isinstance(document, dict) and "previous_configuration" in document:
        name = bucket or document.get("bucket")
        if not isinstance(name, str) or not name:
            raise ValueError("the report names no bucket; pass --bucket")
        return {name: cors_rules(document["previous_configuration"])}
    if isinstance(document, dict | list) and bucket:
        return {bucket: cors_rules(document)}
    raise ValueError(
        "expected an auditor report, a saved-configuration log line, or a configuration + --bucket"
    )


def restore(s3: S3Client, saved: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Write each saved configuration back; bucket -> "put" or "delete"."""
    return {bucket: write_cors(s3, bucket, rules) for bucket, rules in saved.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cors_auditor.restore", description=__doc__)
    parser.add_argument("file", help="report, log line or configuration JSON; - reads stdin")
    parser.add_argument("--bucket", help="the bucket to restore (needed for a bare configuration)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be written, change nothing")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    saved = saved_configurations(json.loads(text), args.bucket)
    if args.dry_run:
        print(json.dumps({"would_restore": saved}, indent=2))
        return 0
    print(json.dumps({"restored": restore(client("s3"), saved)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
