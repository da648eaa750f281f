"""SQS's query protocol (form parameters in, XML out) through boto3 1.34.89,
the last boto3 that speaks it. scripts/test runs this file in its own
virtualenv (.venv-wire-old, tests/wire/requirements-old.txt); under a newer
boto3 (JSON protocol) conftest.py does not collect them."""

import time

import boto3
import pytest
from botocore.exceptions import ClientError

from baton_wire import ACCOUNT, unique
from sqs_wire import md5_attributes, md5_body, sqs_client


@pytest.fixture
def sqs(server):
    client = sqs_client(server)
    if client.meta.service_model.protocol != "query":
        pytest.skip(f"boto3 {boto3.__version__} speaks SQS's JSON protocol; these tests need 1.34.89 (.venv-wire-old)")
    return client


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def test_query_queue_lifecycle(sqs, server):
    name = unique("q")
    url = sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "2"}, tags={"team": "a"})["QueueUrl"]
    assert url == f"{server.endpoint}/{ACCOUNT}/{name}"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["DelaySeconds"] == "2"
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0", "VisibilityTimeout": "9"})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds", "VisibilityTimeout"])["Attributes"]
    assert attrs == {"DelaySeconds": "0", "VisibilityTimeout": "9"}
    assert url in sqs.list_queues(QueueNamePrefix=name)["QueueUrls"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a"}
    sqs.tag_queue(QueueUrl=url, Tags={"b": "2"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"b": "2"}
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "5"})
    assert code(e.value) == "QueueAlreadyExists"
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.get_queue_attributes(QueueUrl=url)
    assert code(e.value) == "AWS.SimpleQueueService.NonExistentQueue"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_query_messages_with_attributes(sqs):
    url = sqs.create_queue(QueueName=unique("m"))["QueueUrl"]
    attrs = {
        "s": {"DataType": "String", "StringValue": "caf\u00e9 & <tags>\r\n"},
        "n": {"DataType": "Number", "StringValue": "-1.5"},
        "b": {"DataType": "Binary", "BinaryValue": b"\xff\x00"},
    }
    body = "line1\r\nline2 & <x> \u00e9"
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
    assert sent["MD5OfMessageBody"] == md5_body(body)
    assert sent["MD5OfMessageAttributes"] == md5_attributes(attrs)
    m = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
    assert m["Body"] == body
    assert m["MessageAttributes"]["s"]["StringValue"] == attrs["s"]["StringValue"]
    assert m["MessageAttributes"]["b"]["BinaryValue"] == b"\xff\x00"
    assert m["MD5OfMessageAttributes"] == md5_attributes(attrs)
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    m2 = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_query_batches(sqs):
    url = sqs.create_queue(QueueName=unique("b"))["QueueUrl"]
    r = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "one", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
            {"Id": "b", "MessageBody": "two"},
            {"Id": "c", "MessageBody": "bad", "DelaySeconds": 5000},
        ],
    )
    assert sorted(e["Id"] for e in r["Successful"]) == ["a", "b"]
    assert r["Failed"][0]["Id"] == "c" and r["Failed"][0]["Code"] == "InvalidParameterValue"
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in msgs) == ["one", "two"]
    r = sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 30}]
    )
    assert [e["Id"] for e in r["Successful"]] == ["x"]
    r = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
    )
    assert len(r["Successful"]) == 2
    with pytest.raises(ClientError) as e:
        sqs.delete_message_batch(QueueUrl=url, Entries=[])
    assert code(e.value) == "AWS.SimpleQueueService.EmptyBatchRequest"


def test_query_fifo_and_long_poll(sqs):
    url = sqs.create_queue(QueueName=unique("f") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for i in range(3):
        r = sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        assert r["SequenceNumber"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"])["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1", "m2"]
    assert got[0]["Attributes"]["MessageGroupId"] == "g"
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert time.monotonic() - started >= 0.9


def test_query_errors(sqs):
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName="does-not-exist")
    assert code(e.value) == "AWS.SimpleQueueService.NonExistentQueue"
    assert e.value.response["Error"]["Type"] == "Sender"
    url = sqs.create_queue(QueueName=unique("e"))["QueueUrl"]
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=30)
    assert code(e.value) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Bogus"])
    assert code(e.value) == "InvalidAttributeName"
