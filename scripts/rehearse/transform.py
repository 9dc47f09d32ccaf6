"""The template as SAM deploys it: aws-sam-translator's transform of template.yaml (or of a packaged copy)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
# The translator logs its feature-toggle lookups at WARNING; they say nothing about this template.
logging.getLogger("samtranslator").setLevel(logging.ERROR)
TEMPLATE = ROOT / "template.yaml"


class NoManagedPolicies:
    """The translator asks for AWS managed policy ARNs only for SAM policy templates and SAM-made roles; the
    template has neither, so any lookup is a regression the IAM test should see, not a network call."""

    def load(self) -> dict[str, str]:
        return {}


_CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def _placeholder_code(sam_template: dict[str, Any]) -> None:
    """An unpackaged template names local folders, which the translator refuses: give each an S3 URI, as
    cfn-lint does. A packaged template (`sam package`) already has real ones and is left alone."""
    for resource in sam_template.get("Resources", {}).values():
        key = _CODE_PROPERTIES.get(resource.get("Type", ""))
        uri = resource.get("Properties", {}).get(key) if key else None
        if isinstance(uri, str) and not uri.startswith("s3://"):
            resource["Properties"][key] = f"s3://unpackaged/{uri.strip('/')}"


def transformed(path: Path = TEMPLATE, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM would create, with the given parameter values (defaults otherwise).

    The translator reads the region from boto3's default session; without one it refuses to run."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    sam_template = yaml_parse(path.read_text())
    _placeholder_code(sam_template)
    result: dict[str, Any] = transform(sam_template, dict(parameters or {}), NoManagedPolicies())
    return result


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE
    json.dump(transformed(source), sys.stdout, indent=2, default=str)
