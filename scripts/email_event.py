"""`make email-event BODY='<json>'`: the SQS event the email sender receives for one request body.

The body is a JSON text inside the event's JSON, so it must be escaped; this does it, from the request as a
user writes it. The frame (attributes, queue ARN) is events/sqs-email-request.json's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FRAME = REPO_ROOT / "events" / "sqs-email-request.json"
DEFAULT_OUT = REPO_ROOT / ".local" / "email-event.json"


def email_event(body: str) -> dict[str, object]:
    """One SQS record carrying `body` (a JSON object, given as text), in the sample event's frame."""
    try:
        request = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"BODY is not JSON: {exc}") from exc
    if not isinstance(request, dict):
        raise ValueError("BODY must be a JSON object: an email request (docs/email-sender.md)")
    text = json.dumps(request)
    event = json.loads(FRAME.read_text(encoding="utf-8"))
    (record,) = event["Records"]
    record.update(
        messageId=str(uuid.uuid4()),
        body=text,
        md5OfBody=hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest(),
    )
    return dict(event)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "body", help='the request, e.g. \'{"template": "example-welcome", "to": [...], ...}\''
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write it (- for stdout)")
    args = parser.parse_args(argv)
    try:
        event = email_event(args.body)
    except ValueError as exc:
        print(f"email-event: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(event, indent=2) + "\n"
    if str(args.out) == "-":
        sys.stdout.write(text)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(args.out.relative_to(REPO_ROOT) if args.out.is_relative_to(REPO_ROOT) else args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
