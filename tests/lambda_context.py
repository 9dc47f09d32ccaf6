"""A stand-in for the Lambda context object, for the tests and the benchmarks (no test framework needed)."""

from __future__ import annotations

from dataclasses import dataclass

REGION = "us-east-1"


@dataclass
class FakeLambdaContext:
    function_name: str = "groundskeeper-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:groundskeeper-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    function_version: str = "$LATEST"
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
