"""SQS through boto3 (the pinned current release: the SQS JSON protocol),
plus raw requests in the shapes other clients send (aws-sdk for JavaScript
v2, query requests POSTed to a queue URL)."""

import base64
import json
import signal
import threading
import time

import pytest
from botocore.exceptions import ClientError

from baton_wire import ACCOUNT, unique
from sqs_wire import md5_attributes, md5_body, raw_json, raw_query, sqs_client


@pytest.fixture
def sqs(server):
    return sqs_client(server)


def code(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def test_queue_lifecycle(sqs, server):
    name = unique("orders")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"}, tags={"team": "a"})["QueueUrl"]
    assert url == f"{server.endpoint}/{ACCOUNT}/{name}"
    # idempotent with the same attributes
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"] == url
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "46"})
    assert code(e.value) == "QueueAlreadyExists"
    assert isinstance(e.value, sqs.exceptions.QueueNameExists)
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    assert attrs["VisibilityTimeout"] == "45"
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["MaximumMessageSize"] == "262144"
    assert int(attrs["CreatedTimestamp"]) > 1_600_000_000
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "3"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"] == {"DelaySeconds": "3"}
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    # queue URLs resolve by path whatever their host
    for other in (
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{name}",
        f"https://queue.amazonaws.com/{ACCOUNT}/{name}",
        f"http://localhost:4566/{ACCOUNT}/{name}",
    ):
        assert sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["DelaySeconds"])["Attributes"]["DelaySeconds"] == "3"
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName=name)
    assert code(e.value) == "AWS.SimpleQueueService.NonExistentQueue"
    assert isinstance(e.value, sqs.exceptions.QueueDoesNotExist)
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName="bad name")
    assert code(e.value) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=unique("x"), Attributes={"Nope": "1"})
    assert code(e.value) == "InvalidAttributeName"


def test_list_queues_prefix_and_pages(sqs):
    prefix = unique("lq")
    urls = [sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5)]
    sqs.create_queue(QueueName=unique("other"))
    assert sorted(sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]) == sorted(urls)
    seen = []
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 2}):
        assert len(page["QueueUrls"]) <= 2
        seen.extend(page["QueueUrls"])
    assert sorted(seen) == sorted(urls)
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="nothing-like-this")


def test_send_receive_delete_with_attributes(sqs):
    url = sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    attrs = {
        "color": {"DataType": "String", "StringValue": "red"},
        "size": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        "ns.one": {"DataType": "String.custom", "StringValue": "1"},
    }
    body = '{"Token": "t-1", "text": "h\u00e9llo \U0001f600"}'
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
    assert sent["MD5OfMessageBody"] == md5_body(body)
    assert sent["MD5OfMessageAttributes"] == md5_attributes(attrs)
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert len(got) == 1
    m = got[0]
    assert m["Body"] == body and m["MessageId"] == sent["MessageId"]
    assert m["MD5OfBody"] == md5_body(body)
    assert m["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01\xff"
    assert m["MD5OfMessageAttributes"] == md5_attributes(attrs)
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert m["Attributes"]["SenderId"] == ACCOUNT
    assert abs(int(m["Attributes"]["SentTimestamp"]) - time.time() * 1000) < 60_000
    # a prefix filter returns (and digests) only the matching attributes
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["ns.*"], AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert set(again["MessageAttributes"]) == {"ns.one"}
    assert again["MD5OfMessageAttributes"] == md5_attributes({"ns.one": attrs["ns.one"]})
    assert again["Attributes"] == {"ApproximateReceiveCount": "2"}
    assert again["ReceiptHandle"] != m["ReceiptHandle"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    # deleting again (an old handle) is not an error
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    assert a["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    with pytest.raises(ClientError) as e:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert code(e.value) == "ReceiptHandleIsInvalid"
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert code(e.value) == "InvalidParameterValue"


def test_batches(sqs):
    url = sqs.create_queue(QueueName=unique("b"))["QueueUrl"]
    r = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "one"},
            {"Id": "b", "MessageBody": "two", "DelaySeconds": 2000},
            {"Id": "c", "MessageBody": "three", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        ],
    )
    assert sorted(e["Id"] for e in r["Successful"]) == ["a", "c"]
    assert r["Failed"][0]["Id"] == "b" and r["Failed"][0]["SenderFault"] is True
    assert r["Failed"][0]["Code"] == "InvalidParameterValue"
    c = next(e for e in r["Successful"] if e["Id"] == "c")
    assert c["MD5OfMessageAttributes"] == md5_attributes({"k": {"DataType": "String", "StringValue": "v"}})
    for entries, expected in (
        ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
        ([{"Id": f"i{i}", "MessageBody": "x"} for i in range(11)], "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
        ([{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}], "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        ([{"Id": "bad id", "MessageBody": "1"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
    ):
        with pytest.raises(ClientError) as e:
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert code(e.value) == expected
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in msgs) == ["one", "three"]
    r = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[{"Id": f"v{i}", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 60} for i, m in enumerate(msgs)],
    )
    assert len(r["Successful"]) == 2 and not r.get("Failed")
    r = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
        + [{"Id": "junk", "ReceiptHandle": "junk"}],
    )
    assert len(r["Successful"]) == 2
    assert r["Failed"] == [{"Id": "junk", "SenderFault": True, "Code": "ReceiptHandleIsInvalid", "Message": r["Failed"][0]["Message"]}]


def test_long_poll_woken_by_send(sqs, server):
    url = sqs.create_queue(QueueName=unique("lp"))["QueueUrl"]
    out = {}

    def poll():
        started = time.monotonic()
        out["r"] = sqs_client(server).receive_message(QueueUrl=url, WaitTimeSeconds=15)
        out["t"] = time.monotonic() - started

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    sqs.send_message(QueueUrl=url, MessageBody="wake")
    t.join(20)
    assert out["r"]["Messages"][0]["Body"] == "wake"
    assert out["t"] < 5
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert time.monotonic() - started >= 0.9


def test_visibility_timeout_and_delay(sqs):
    url = sqs.create_queue(QueueName=unique("vt"), Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"]
    assert a == {"ApproximateNumberOfMessagesDelayed": "1"}
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    m = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
    assert m["Body"] == "later"
    # not deleted: back after its 1 s visibility timeout
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=50000)
    assert code(e.value) == "InvalidParameterValue"


def test_fifo(sqs):
    name = unique("jobs") + ".fifo"
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    seqs = []
    for body, group in (("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a")):
        r = sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
        seqs.append(r["SequenceNumber"])
    assert seqs == sorted(seqs, key=int)
    dup = sqs.send_message(QueueUrl=url, MessageBody="a1", MessageGroupId="a")
    assert dup["SequenceNumber"] == seqs[0]
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert [m["Body"] for m in first] == ["a1"]
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in rest] == ["b1"]
    assert rest[0]["Attributes"]["MessageGroupId"] == "b"
    assert rest[0]["Attributes"]["SequenceNumber"] == seqs[1]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["a2", "a3"]
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert code(e.value) == "MissingParameter"
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=unique("nofifo") + ".fifo")
    assert code(e.value) == "InvalidParameterValue"


def test_dead_letter_queue(sqs):
    dlq = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    src = sqs.create_queue(QueueName=unique("src"), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    got = json.loads(sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    assert got == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)["Messages"][0]["Body"] == "poison"
    assert "Messages" not in sqs.receive_message(QueueUrl=src)
    m = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["DeadLetterQueueSourceArn"])["Messages"][0]
    assert m["MessageId"] == sent["MessageId"]
    assert m["Attributes"]["DeadLetterQueueSourceArn"].endswith(src.rsplit("/", 1)[1])
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]


def test_purge(sqs):
    url = sqs.create_queue(QueueName=unique("p"))["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(5)])
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.purge_queue(QueueUrl=url)
    assert code(e.value) == "AWS.SimpleQueueService.PurgeQueueInProgress"


def test_acknowledged_messages_survive_sigkill(sqs, server):
    url = sqs.create_queue(QueueName=unique("dur"), Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    taken = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    assert len(taken) == 3
    server.restart(signal.SIGKILL)
    sqs = sqs_client(server)
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    assert a["Attributes"] == {"ApproximateNumberOfMessages": "7", "ApproximateNumberOfMessagesNotVisible": "3"}
    bodies = []
    deadline = time.monotonic() + 15
    while len(bodies) < 10 and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(bodies) == sorted(f"m{i}" for i in range(10))


def test_json_error_shape(server):
    status, headers, body = raw_json(server, "GetQueueUrl", {"QueueName": "missing"})
    assert status == 400
    assert body["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert body["message"] == "The specified queue does not exist."
    assert headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    status, headers, body = raw_json(server, "NoSuchAction", {})
    assert status == 400 and headers["x-amzn-query-error"].endswith(";Sender")


def test_aws_sdk_v2_json_requests(server):
    """The requests aws-sdk for JavaScript v2 sends (no x-amzn-query-mode)."""
    name = unique("v2")
    status, _, body = raw_json(server, "CreateQueue", {"QueueName": name})
    assert status == 200
    url = body["QueueUrl"]
    status, _, body = raw_json(server, "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
    assert body == {"Attributes": {"QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"}}
    status, _, body = raw_json(server, "SendMessage", {"QueueUrl": url, "MessageBody": '{"Token":"t-1"}'})
    assert body["MD5OfMessageBody"] == "6a507424e588bb037191451f0444ea75"
    status, _, body = raw_json(server, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 1})
    assert body["Messages"][0]["Body"] == '{"Token":"t-1"}'
    status, _, body = raw_json(server, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 1})
    assert (status, body) == (200, {})


def test_requests_posted_to_the_queue_url(server):
    name = unique("path")
    raw_json(server, "CreateQueue", {"QueueName": name})
    path = f"/{ACCOUNT}/{name}"
    status, _, text = raw_query(server, {"Action": "SendMessage", "Version": "2012-11-05", "MessageBody": "via path"}, path=path)
    assert status == 200, text
    assert "<MD5OfMessageBody>" in text
    status, _, body = raw_json(server, "ReceiveMessage", {"MaxNumberOfMessages": 1}, path=path)
    assert body["Messages"][0]["Body"] == "via path"
    status, _, text = raw_query(server, {"Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": "missing"})
    assert status == 400
    assert "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>" in text and "<Type>Sender</Type>" in text


def test_binary_attribute_base64_on_the_wire(server):
    name = unique("bin")
    _, _, body = raw_json(server, "CreateQueue", {"QueueName": name})
    url = body["QueueUrl"]
    value = base64.b64encode(b"\x00\x10binary").decode()
    attrs = {"b": {"DataType": "Binary", "BinaryValue": value}}
    _, _, sent = raw_json(server, "SendMessage", {"QueueUrl": url, "MessageBody": "x", "MessageAttributes": attrs})
    assert sent["MD5OfMessageAttributes"] == md5_attributes({"b": {"DataType": "Binary", "BinaryValue": b"\x00\x10binary"}})
    _, _, got = raw_json(server, "ReceiveMessage", {"QueueUrl": url, "MessageAttributeNames": ["b"]})
    assert got["Messages"][0]["MessageAttributes"]["b"] == {"BinaryValue": value, "DataType": "Binary"}
