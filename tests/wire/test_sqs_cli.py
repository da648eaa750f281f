"""`aws sqs ... --endpoint-url` (the aws CLI v1 ignores AWS_ENDPOINT_URL for
SQS in standard regions, so the endpoint is given on the command line)."""

import json
import os
import subprocess

from baton_wire import ACCOUNT, aws_executable, unique


def aws_sqs(server, *args, check=True):
    env = dict(os.environ)
    env["AWS_MAX_ATTEMPTS"] = "1"
    p = subprocess.run(
        [aws_executable(), "sqs", *map(str, args), "--endpoint-url", server.endpoint, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert p.returncode == 0, f"aws sqs {' '.join(map(str, args))}: {p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip() else {}
    return p


def test_cli_round_trip(server):
    name = unique("cli")
    url = aws_sqs(server, "create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=40")["QueueUrl"]
    assert url == f"{server.endpoint}/{ACCOUNT}/{name}"
    assert aws_sqs(server, "get-queue-url", "--queue-name", name)["QueueUrl"] == url
    sent = aws_sqs(
        server,
        "send-message",
        "--queue-url",
        url,
        "--message-body",
        '{"Token":"t-1"}',
        "--message-attributes",
        '{"k": {"DataType": "String", "StringValue": "v"}}',
    )
    assert sent["MD5OfMessageBody"] == "6a507424e588bb037191451f0444ea75"
    got = aws_sqs(
        server, "receive-message", "--queue-url", url, "--wait-time-seconds", "1", "--message-attribute-names", "All"
    )
    m = got["Messages"][0]
    assert m["Body"] == '{"Token":"t-1"}'
    assert m["MessageAttributes"]["k"]["StringValue"] == "v"
    aws_sqs(server, "delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"])
    attrs = aws_sqs(server, "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert attrs["VisibilityTimeout"] == "40"
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert url in aws_sqs(server, "list-queues")["QueueUrls"]
    aws_sqs(server, "purge-queue", "--queue-url", url)
    aws_sqs(server, "delete-queue", "--queue-url", url)
    p = aws_sqs(server, "get-queue-url", "--queue-name", name, check=False)
    assert p.returncode == 255
    assert "AWS.SimpleQueueService.NonExistentQueue" in p.stderr or "QueueDoesNotExist" in p.stderr
