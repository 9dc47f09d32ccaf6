"""Creates boto3 clients once per execution environment, cached per (service, region), sharing one Config.

A client is made on its first use, not when it is asked for: a handler hands every client its job might need
to the job, and a run that needs no queue or table (most first invocations) then never pays for making one
(sqs about 5-15 ms of CPU at cold start, dynamodb about 10-30 ms).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_lambda import LambdaClient
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
        self._lazy: dict[tuple[str, str | None, str], _LazyClient] = {}

    def get(self, service: str, region: str | None, purpose: Purpose = "default") -> Any:
        """The one stand-in for (service, region, purpose), which makes the client on its first use."""
        key = (service, region, purpose)
        found = self._lazy.get(key)
        if found is None:
            found = self._lazy.setdefault(key, _LazyClient(lambda: self.made(service, region, purpose)))
        return found

    def made(self, service: str, region: str | None, purpose: Purpose = "default") -> Any:
        """The client itself, made now if it was not yet."""
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
            self._lazy.clear()
            self._session = None


class _LazyClient:
    """A client's stand-in: the first attribute read makes the client, and every read is the client's own.

    Calls, `meta`, `exceptions`, paginators and waiters are all attribute reads, so users (and botocore's
    Stubber) see the client. Making it once is the cache's job, so threads that race here share one client.
    """

    __slots__ = ("_client", "_make")

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        made = self._client
        if made is None:
            made = self._client = self._make()
        return getattr(made, name)

    def __repr__(self) -> str:
        return f"<lazy {self._client!r}>" if self._client is not None else "<lazy boto3 client, not made yet>"


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
@overload
def client(service: Literal["lambda"], region: str | None = None) -> LambdaClient: ...
# Untyped: the Organizations stubs are not installed for the planner's one paginated call.
@overload
def client(service: Literal["organizations"], region: str | None = None) -> Any: ...
# Untyped: no CodeDeploy stubs are installed for the deploy canary's one call.
@overload
def client(service: Literal["codedeploy"], region: str | None = None) -> Any: ...
def client(service: str, region: str | None = None) -> Any:
    """The cached client for (service, region); region None means the environment's default region."""
    return _cache.get(service, region)


@overload
def single_attempt_client(service: Literal["ses"], region: str | None = None) -> SESClient: ...
@overload
def single_attempt_client(service: Literal["dynamodb"], region: str | None = None) -> DynamoDBClient: ...
def single_attempt_client(service: str, region: str | None = None) -> Any:
    """The cached client for (service, region) that makes each call once: no botocore retries at all.

    Its worst case is bounded by its timeouts (SINGLE_ATTEMPT_CONNECT_TIMEOUT + SINGLE_ATTEMPT_READ_TIMEOUT):
    the email sender's send, and the send-started mark before it, must both fit in the time it has left.
    """
    return _cache.get(service, region, "single-attempt")


def reset_clients() -> None:
    """Forget every cached client and the session: for tests that change credentials or endpoints."""
    _cache.clear()
