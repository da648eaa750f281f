"""SNS over the query protocol: boto3's and the aws CLI's `sns` clients
against `baton serve`. Topics, subscriptions, attributes, filter policies,
Publish / PublishBatch validation, HTTP subscriptions (confirmation, then
deliveries with AWS's headers), deliveries that survive a SIGKILL, and
SNS → SQS envelopes (these need Baton's SQS service)."""

import json
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from baton_wire import ACCOUNT, REGION, aws_executable, unique, wait_for


def client(server, service="sns"):
    return boto3.session.Session().client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, read_timeout=30, connect_timeout=5),
    )


@pytest.fixture
def sns(server):
    return client(server)


def error_of(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["Error"]["Message"], e["ResponseMetadata"]["HTTPStatusCode"]


class Sink:
    """A local HTTP endpoint recording every POST; answers `status`."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode()
                with sink.lock:
                    sink.requests.append((dict((k.lower(), v) for k, v in self.headers.items()), body))
                    status = sink.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def of_type(self, kind):
        with self.lock:
            return [(h, json.loads(b)) for h, b in self.requests if h.get("x-amz-sns-message-type") == kind]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()


def test_topic_lifecycle(sns):
    name = unique("orders")
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert arn == f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    assert {"TopicArn": arn} in sns.list_topics()["Topics"]

    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["TopicArn"] == arn
    assert attrs["Owner"] == ACCOUNT
    assert attrs["DisplayName"] == ""
    assert attrs["SubscriptionsConfirmed"] == "0"
    assert attrs["SubscriptionsPending"] == "0"
    assert attrs["SubscriptionsDeleted"] == "0"
    assert json.loads(attrs["Policy"])["Id"] == "__default_policy_ID"
    eff = json.loads(attrs["EffectiveDeliveryPolicy"])
    assert eff["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 3

    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Orders")
    policy = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 1, "maxDelayTarget": 10}}}
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy))
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["DisplayName"] == "Orders"
    assert json.loads(attrs["DeliveryPolicy"]) == policy
    assert json.loads(attrs["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 5

    with pytest.raises(ClientError) as e:
        sns.create_topic(Name=name, Attributes={"DisplayName": "other"})
    assert error_of(e) == (
        "InvalidParameter",
        "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
        400,
    )
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name="bad name")
    assert error_of(e) == ("InvalidParameter", "Invalid parameter: Topic Name", 400)

    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # idempotent
    with pytest.raises(ClientError) as e:
        sns.get_topic_attributes(TopicArn=arn)
    assert error_of(e) == ("NotFound", "Topic does not exist", 404)
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.publish(TopicArn=arn, Message="x")


def test_list_topics_paginates(sns):
    arns = {sns.create_topic(Name=f"page-{i:03}")["TopicArn"] for i in range(105)}
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and "NextToken" in first
    seen = set()
    for page in sns.get_paginator("list_topics").paginate():
        seen.update(t["TopicArn"] for t in page["Topics"])
    assert arns <= seen


def test_fifo_topic(sns):
    arn = sns.create_topic(
        Name=unique("jobs") + ".fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["FifoTopic"] == "true" and attrs["ContentBasedDeduplication"] == "true"
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, Message="m")
    assert error_of(e)[1] == "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    a = sns.publish(TopicArn=arn, Message="m", MessageGroupId="g")
    b = sns.publish(TopicArn=arn, Message="m", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"]  # content-based deduplication
    assert len(a["SequenceNumber"]) == 20
    c = sns.publish(TopicArn=arn, Message="other", MessageGroupId="g")
    assert c["SequenceNumber"] > a["SequenceNumber"]


def test_subscriptions_and_attributes(sns):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('q')}"
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{unique('f')}"
    s1 = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"color": ["red"]})},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    assert s1.startswith(topic + ":")
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)["SubscriptionArn"] == s1
    s2 = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]

    attrs = sns.get_subscription_attributes(SubscriptionArn=s1)["Attributes"]
    assert attrs["RawMessageDelivery"] == "true"
    assert attrs["PendingConfirmation"] == "false"
    assert attrs["ConfirmationWasAuthenticated"] == "true"
    assert attrs["FilterPolicyScope"] == "MessageAttributes"
    assert json.loads(attrs["FilterPolicy"]) == {"color": ["red"]}
    assert attrs["Endpoint"] == queue and attrs["Protocol"] == "sqs" and attrs["TopicArn"] == topic

    sns.set_subscription_attributes(SubscriptionArn=s1, AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
    sns.set_subscription_attributes(
        SubscriptionArn=s1, AttributeName="FilterPolicy", AttributeValue=json.dumps({"a": {"b": [{"prefix": "x"}]}})
    )
    with pytest.raises(ClientError) as e:
        sns.set_subscription_attributes(SubscriptionArn=s1, AttributeName="FilterPolicyScope", AttributeValue="MessageAttributes")
    assert error_of(e)[1] == (
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
    )
    with pytest.raises(ClientError) as e:
        sns.set_subscription_attributes(
            SubscriptionArn=s1, AttributeName="FilterPolicy", AttributeValue=json.dumps({"a": [{"numeric": [">", "x"]}]})
        )
    assert error_of(e) == ("InvalidParameter", "Invalid parameter: FilterPolicy: Value of > must be numeric", 400)
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=topic, Protocol="smoke-signal", Endpoint="x")
    assert error_of(e)[1] == "Invalid parameter: Amazon SNS does not support this protocol string: smoke-signal"

    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted(s["SubscriptionArn"] for s in listed) == sorted([s1, s2])
    assert {s["Protocol"] for s in sns.list_subscriptions()["Subscriptions"] if s["TopicArn"] == topic} == {
        "sqs",
        "lambda",
    }
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsConfirmed"] == "2"

    sns.unsubscribe(SubscriptionArn=s2)
    with pytest.raises(ClientError) as e:
        sns.get_subscription_attributes(SubscriptionArn=s2)
    assert error_of(e) == ("NotFound", "Subscription does not exist", 404)
    with pytest.raises(ClientError) as e:
        sns.unsubscribe(SubscriptionArn="nonsense")
    assert error_of(e)[1] == "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1"


def test_publish_validation(sns):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    ok = sns.publish(
        TopicArn=topic,
        Message="hello",
        Subject="hi",
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "v"},
            "n": {"DataType": "Number", "StringValue": "1.5"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            "a": {"DataType": "String.Array", "StringValue": '["x", 1]'},
        },
    )
    assert len(ok["MessageId"]) == 36
    assert sns.publish(TargetArn=topic, Message="via target")["MessageId"]
    cases = [
        (dict(Message=""), ("InvalidParameter", "Invalid parameter: Empty message")),
        (dict(Message="m", Subject="two\nlines"), ("InvalidParameter", "Invalid parameter: Subject")),
        (dict(Message="x" * 262145), ("InvalidParameter", "Invalid parameter: Message too long")),
        (
            dict(Message="not json", MessageStructure="json"),
            ("InvalidParameter", "Invalid parameter: Message Structure - JSON message body failed to parse"),
        ),
        (
            dict(Message=json.dumps({"sqs": "x"}), MessageStructure="json"),
            ("InvalidParameter", "Invalid parameter: Message Structure - No default entry in JSON message body"),
        ),
        (
            dict(Message="m", MessageAttributes={"n": {"DataType": "Number", "StringValue": "abc"}}),
            ("ParameterValueInvalid", "Could not cast message attribute 'n' value to number."),
        ),
        (
            dict(Message="m", MessageAttributes={"x": {"DataType": "Decimal", "StringValue": "1"}}),
            (
                "ParameterValueInvalid",
                "The message attribute 'x' has an invalid message attribute type, the set of supported type "
                "prefixes is Binary, Number, and String.",
            ),
        ),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ClientError) as e:
            sns.publish(TopicArn=topic, **kwargs)
        assert error_of(e)[:2] == expected, kwargs
    # a message of exactly 256 KiB is accepted
    assert sns.publish(TopicArn=topic, Message="x" * 262144)["MessageId"]


def test_publish_batch(sns):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    r = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "one", "Message": "1"},
            {"Id": "two", "Message": "2", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        ],
    )
    assert [s["Id"] for s in r["Successful"]] == ["one", "two"]
    assert r["Failed"] == []
    with pytest.raises(sns.exceptions.BatchEntryIdsNotDistinctException):
        sns.publish_batch(
            TopicArn=topic, PublishBatchRequestEntries=[{"Id": "a", "Message": "1"}, {"Id": "a", "Message": "2"}]
        )
    with pytest.raises(sns.exceptions.TooManyEntriesInBatchRequestException):
        sns.publish_batch(
            TopicArn=topic, PublishBatchRequestEntries=[{"Id": f"e{i}", "Message": "m"} for i in range(11)]
        )


def test_tags(sns):
    topic = sns.create_topic(Name=unique("t"), Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
    sns.tag_resource(ResourceArn=topic, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    tags = sns.list_tags_for_resource(ResourceArn=topic)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("team", "b")]
    sns.untag_resource(ResourceArn=topic, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "env", "Value": "dev"}]
    with pytest.raises(ClientError) as e:
        sns.list_tags_for_resource(ResourceArn=topic + "-gone")
    assert error_of(e) == ("ResourceNotFound", "Resource does not exist", 404)


def test_http_subscription_confirm_and_deliver(sns, sink):
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=sink.url)["SubscriptionArn"] == "pending confirmation"
    headers, conf = wait_for(lambda: sink.of_type("SubscriptionConfirmation"), what="the confirmation")[0]
    assert conf["Type"] == "SubscriptionConfirmation"
    assert conf["TopicArn"] == topic
    assert "Action=ConfirmSubscription" in conf["SubscribeURL"] and conf["Token"] in conf["SubscribeURL"]
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["content-type"].lower().startswith("text/plain")
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "1"
    sub = sns.confirm_subscription(TopicArn=topic, Token=conf["Token"])["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["PendingConfirmation"] == "false"

    mid = sns.publish(
        TopicArn=topic,
        Message="hello",
        Subject="greeting",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )["MessageId"]
    headers, note = wait_for(lambda: sink.of_type("Notification"), what="the notification")[0]
    assert headers["x-amz-sns-message-id"] == mid
    assert headers["x-amz-sns-subscription-arn"] == sub
    assert headers["x-amz-sns-topic-arn"] == topic
    assert list(note) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert note["Message"] == "hello" and note["Subject"] == "greeting"
    assert note["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}

    # a filter policy keeps other messages away; raw delivery sends the bare message
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"k": ["w"]}')
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.publish(TopicArn=topic, Message="filtered out", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    sns.publish(TopicArn=topic, Message="raw", MessageAttributes={"k": {"DataType": "String", "StringValue": "w"}})

    def raw_arrived():
        with sink.lock:
            return [(h, b) for h, b in sink.requests if h.get("x-amz-sns-rawdelivery") == "true"]

    headers, body = wait_for(raw_arrived, what="the raw notification")[0]
    assert body == "raw"
    time.sleep(0.3)
    with sink.lock:
        assert all(b != "filtered out" and "filtered out" not in b for _, b in sink.requests)


def test_http_delivery_survives_sigkill(server, sink):
    sns = client(server)
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=sink.url,
        Attributes={
            "DeliveryPolicy": json.dumps(
                {"healthyRetryPolicy": {"numRetries": 50, "minDelayTarget": 1, "maxDelayTarget": 1}}
            )
        },
    )
    _, conf = wait_for(lambda: sink.of_type("SubscriptionConfirmation"), what="the confirmation")[0]
    sns.confirm_subscription(TopicArn=topic, Token=conf["Token"])
    sink.status = 503
    mid = sns.publish(TopicArn=topic, Message="must arrive")["MessageId"]
    wait_for(lambda: len(sink.of_type("Notification")) >= 2, what="failed attempts")
    server.restart(signal.SIGKILL)
    sink.status = 200
    with sink.lock:
        sink.requests.clear()
    _, note = wait_for(lambda: sink.of_type("Notification"), timeout=30, what="the redelivery")[0]
    assert note["MessageId"] == mid and note["Message"] == "must arrive"


def test_aws_cli_sns(server):
    exe = aws_executable()
    env = dict(os.environ, AWS_ENDPOINT_URL=server.endpoint, AWS_MAX_ATTEMPTS="1")

    def aws(*args):
        p = subprocess.run(
            [exe, "sns", *args, "--output", "json"], capture_output=True, text=True, env=env, timeout=60
        )
        return p.returncode, p.stdout, p.stderr

    code, out, err = aws("create-topic", "--name", "cli-topic", "--attributes", "DisplayName=CLI")
    assert code == 0, err
    arn = json.loads(out)["TopicArn"]
    code, out, err = aws("publish", "--topic-arn", arn, "--message", "from the cli", "--subject", "s")
    assert code == 0, err
    assert len(json.loads(out)["MessageId"]) == 36
    code, out, err = aws("list-topics")
    assert code == 0 and {"TopicArn": arn} in json.loads(out)["Topics"]
    code, out, err = aws("get-topic-attributes", "--topic-arn", arn)
    assert json.loads(out)["Attributes"]["DisplayName"] == "CLI"
    code, out, err = aws("get-topic-attributes", "--topic-arn", arn + "-missing")
    assert code == 255 and "NotFound" in err and "Topic does not exist" in err


# ----- SNS → SQS (needs Baton's SQS service) ----------------------------------------------


def queue(sqs, name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs, url, n=1):
    got = []

    def poll():
        r = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        got.extend(r.get("Messages", []))
        return len(got) >= n

    wait_for(poll, timeout=20, what=f"{n} message(s) on {url}")
    return got


def test_sns_to_sqs_envelope_and_raw(server):
    sns, sqs = client(server), client(server, "sqs")
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    url, arn = queue(sqs, unique("q"))
    raw_url, raw_arn = queue(sqs, unique("raw"))
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    mid = sns.publish(
        TopicArn=topic,
        Message="hello queue",
        Subject="subj",
        MessageAttributes={"color": {"DataType": "String", "StringValue": "red"}},
    )["MessageId"]

    env = json.loads(receive(sqs, url)[0]["Body"])
    assert env["Type"] == "Notification"
    assert env["MessageId"] == mid
    assert env["TopicArn"] == topic
    assert env["Subject"] == "subj"
    assert env["Message"] == "hello queue"
    assert env["SignatureVersion"] == "1"
    assert env["Timestamp"].endswith("Z") and env["Timestamp"][19] == "."
    assert sub in env["UnsubscribeURL"]
    assert env["MessageAttributes"] == {"color": {"Type": "String", "Value": "red"}}

    raw = receive(sqs, raw_url)[0]
    assert raw["Body"] == "hello queue"
    assert raw["MessageAttributes"]["color"] == {"DataType": "String", "StringValue": "red"}


def test_sns_to_sqs_filter_policy(server):
    sns, sqs = client(server), client(server, "sqs")
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    url, arn = queue(sqs, unique("q"))
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"price": [{"numeric": [">=", 100]}]})},
    )
    for price in ["5", "150", "99.9", "100"]:
        sns.publish(
            TopicArn=topic, Message=price, MessageAttributes={"price": {"DataType": "Number", "StringValue": price}}
        )
    got = receive(sqs, url, 2)
    time.sleep(1)
    got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(m["Body"] for m in got) == ["100", "150"]
