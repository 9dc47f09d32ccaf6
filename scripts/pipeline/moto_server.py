"""The embedded AWS as two addresses: the host's, and the one a function container must use."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3

DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class MotoServer:
    """A moto_server process: `endpoint` is for the host, `container_endpoint` for a function container."""

    def __init__(self, endpoint: str, container_endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.container_endpoint = container_endpoint.rstrip("/")
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client bound to the server, made once per (service, region)."""
        if (service, region) not in self._clients:
            self._clients[service, region] = boto3.client(
                service, region_name=region, endpoint_url=self.endpoint, **DUMMY_CREDENTIALS
            )
        return self._clients[service, region]

    def for_container(self, url: str) -> str:
        """A URL moto gave the host (a queue URL, say), as a function container must write it."""
        return url.replace(self.endpoint, self.container_endpoint)

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def state(self) -> dict[str, Any]:
        """moto's own view of everything (for example what SES recorded as sent)."""
        with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=30) as response:
            data: dict[str, Any] = json.load(response)
            return data
