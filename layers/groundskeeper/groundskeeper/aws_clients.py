"""Creates boto3 clients once per execution environment, cached per (service, region), sharing one Config."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

# Adaptive retries back off on throttling across the whole process; the timeouts keep a hung call
# from eating the Lambda's deadline. total_max_attempts counts the first try (max_attempts would not).
BOTO_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=32,
)
# For a call that must not be repeated behind the caller's back (SES SendEmail: a retry of a send whose
# answer was lost sends the email twice): one attempt, and timeouts short enough to finish well inside the
# deadline margin a caller keeps. The caller's own retry (SQS redelivery, guarded by idempotency) replaces
# botocore's.
SINGLE_ATTEMPT_CONNECT_TIMEOUT = 1
SINGLE_ATTEMPT_READ_TIMEOUT = 3
SINGLE_ATTEMPT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=SINGLE_ATTEMPT_CONNECT_TIMEOUT,
    read_timeout=SINGLE_ATTEMPT_READ_TIMEOUT,
    max_pool_connections=32,
)
Purpose = Literal["default", "single-attempt"]
_CONFIGS: dict[str, Config] = {"default": BOTO_CONFIG, "single-attempt": SINGLE_ATTEMPT_CONFIG}


class _ClientCache:
    """One private boto3 session and the clients made from it, guarded by a lock.

    boto3's default session is not safe to create clients from concurrently; the janitor builds one
    client per region from a thread pool, so creation is serialised here (use is thread-safe).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: boto3.session.Session | None = None
        self._made: dict[tuple[str, str | None, str], Any] = {}

    def get(self, service: str, region: str | None, purpose: Purpose = "default") -> Any:
        key = (service, region, purpose)
        found = self._made.get(key)
        if found is not None:
            return found
        with self._lock:
            if key not in self._made:
                if self._session is None:
                    self._session = boto3.session.Session()
                make: Any = self._session.client
                self._made[key] = make(service, region_name=region, config=_CONFIGS[purpose])
            return self._made[key]

    def clear(self) -> None:
        with self._lock:
            self._made.clear()
            self._session = None


_cache = _ClientCache()


@overload
def client(service: Literal["s3"], region: str | None = None) -> S3Client: ...
@overload
def client(service: Literal["sqs"], region: str | None = None) -> SQSClient: ...
@overload
def client(service: Literal["ses"], region: str | None = None) -> SESClient: ...
@overload
def client(service: Literal["ec2"], region: str | None = None) -> EC2Client: ...
@overload
def client(service: Literal["dynamodb"], region: str | None = None) -> DynamoDBClient: ...
@overload
def client(service: Literal["route53"], region: str | None = None) -> Route53Client: ...
@overload
def client(service: Literal["sts"], region: str | None = None) -> STSClient: ...
# Untyped: the Organizations stubs are not installed for the planner's one paginated call.
@overload
def client(service: Literal["organizations"], region: str | None = None) -> Any: ...
def client(service: str, region: str | None = None) -> Any:
    """The cached client for (service, region); region None means the environment's default region."""
    return _cache.get(service, region)


def single_attempt_client(service: Literal["ses"], region: str | None = None) -> SESClient:
    """The cached client for (service, region) that makes each call once: no botocore retries at all."""
    return _cache.get(service, region, "single-attempt")  # type: ignore[no-any-return]


def reset_clients() -> None:
    """Forget every cached client and the session: for tests that change credentials or endpoints."""
    _cache.clear()
