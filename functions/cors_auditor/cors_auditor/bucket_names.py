"""Which bucket names may reach S3: an event names buckets, and whoever wrote the event chose the name."""

from __future__ import annotations

import re

from cors_auditor.skip_reasons import SkipReason

# Today's rules: 3-63 characters; lowercase letters, digits, dots and hyphens; a letter or digit at both ends.
_CURRENT = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Names created in us-east-1 before 1 March 2018 may still exist and keep working there: up to 255
# characters, capitals and underscores allowed. The auditor takes them, as S3 and botocore still do.
_LEGACY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")
_IP_ADDRESS = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}")
# S3 Express One Zone: `base--azid--x-s3`. Its CORS is not readable through the bucket CORS API.
_DIRECTORY_SUFFIX = "--x-s3"


def bucket_name_problem(name: str) -> SkipReason | None:
    """None when the name may go to S3; otherwise why it must not. Checked before any AWS call, so a name
    botocore would refuse (ParamValidationError) or read as an ARN never reaches it."""
    if name.endswith(_DIRECTORY_SUFFIX) and _CURRENT.fullmatch(name):
        return SkipReason.DIRECTORY_BUCKET
    if (
        not (_CURRENT.fullmatch(name) or _LEGACY.fullmatch(name))
        or ".." in name
        or _IP_ADDRESS.fullmatch(name)
    ):
        return SkipReason.INVALID_BUCKET_NAME
    return None
