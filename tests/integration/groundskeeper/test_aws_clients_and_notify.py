"""The client factory and the notify adapter against moto."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from groundskeeper import aws_clients
from groundskeeper.notify import email_request, send_email_request


def test_clients_are_cached_per_service_and_region(aws: None) -> None:
    assert aws_clients.client("sqs") is aws_clients.client("sqs")
    assert aws_clients.client("ec2", "eu-west-1") is aws_clients.client("ec2", "eu-west-1")
    assert aws_clients.client("ec2", "eu-west-1") is not aws_clients.client("ec2", "us-west-2")
    assert aws_clients.client("ec2", "eu-west-1").meta.region_name == "eu-west-1"


def test_concurrent_first_use_creates_one_client_per_key(aws: None) -> None:
    regions = ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(lambda region: aws_clients.client("ec2", region), regions))
    assert len({id(c) for c in made}) == 4


def test_clients_share_the_adaptive_retry_config(aws: None) -> None:
    config = aws_clients.client("s3").meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 4}
    assert config.connect_timeout == 3
    assert config.read_timeout == 10


def test_send_email_request_puts_the_contract_body_on_the_queue(aws: None) -> None:
    sqs = aws_clients.client("sqs")
    queue_url = sqs.create_queue(QueueName="email")["QueueUrl"]
    request = email_request("cors-finding", ["ops@example.com"], {"bucket": "b"}, idempotency_key="k1")

    message_id = send_email_request(sqs, queue_url, request)

    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["MessageId"] for m in received] == [message_id]
    assert json.loads(received[0]["Body"]) == request
