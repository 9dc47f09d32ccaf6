"""Publishes and inspects SES templates: `python -m email_sender.template_sync ensure|list|get|delete [NAME]`.

`ensure` creates or updates every bundled template (or only NAME), validating each before publishing.
`make sync-templates ACTION=... NAME=...` runs this with the current AWS credentials (or AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from email_sender.errors import TEMPLATE_DOES_NOT_EXIST
from email_sender.template_store import bundled_template_names, load_bundled_template, publish_template
from groundskeeper.errors import PermanentError

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient


def ensure(ses: SESClient, name: str | None = None) -> dict[str, str]:
    """Create or update the bundled templates (all, or `name`); returns name -> created|updated."""
    names = [name] if name else bundled_template_names()
    results: dict[str, str] = {}
    for each in names:
        template = load_bundled_template(each)
        if template is None:
            raise PermanentError(TEMPLATE_DOES_NOT_EXIST, f"no bundled template named {each}")
        results[each] = publish_template(ses, template, update_existing=True)
    return results


def list_names(ses: SESClient) -> list[str]:
    names: list[str] = []
    for page in ses.get_paginator("list_templates").paginate():
        names += [meta["Name"] for meta in page.get("TemplatesMetadata", []) if "Name" in meta]
    return names


def main(argv: Sequence[str] | None = None, ses: SESClient | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m email_sender.template_sync", description=__doc__)
    parser.add_argument("action", choices=["ensure", "list", "get", "delete"])
    parser.add_argument("name", nargs="?", default="", help="a template name (required for get and delete)")
    args = parser.parse_args(argv)
    if args.action in {"get", "delete"} and not args.name:
        parser.error(f"{args.action} needs a template NAME")
    if ses is None:
        from groundskeeper.aws_clients import client

        ses = client("ses")

    try:
        if args.action == "ensure":
            output: object = ensure(ses, args.name or None)
        elif args.action == "list":
            output = list_names(ses)
        elif args.action == "get":
            output = ses.get_template(TemplateName=args.name)["Template"]
        else:
            ses.delete_template(TemplateName=args.name)
            output = {args.name: "deleted"}
    except PermanentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
