"""Lambda-like functions over the wire: functions created from a local folder
with Baton's `PUT /_baton/v1/functions/{name}`, then driven by boto3's and
the aws CLI's unmodified Lambda clients (Invoke, GetFunction, ListFunctions,
event source mappings), handlers calling back into Baton, and `baton logs`."""

import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config

from baton_wire import ACCOUNT, REGION, aws_executable, baton_bin, unique, wait_for

NODE_HANDLER = r"""
console.log('init');
exports.echo = async (event, context) => {
  console.log('got', JSON.stringify(event));
  return { event, requestId: context.awsRequestId, name: context.functionName,
           arn: context.invokedFunctionArn, region: process.env.AWS_REGION };
};
exports.boom = async () => { throw new RangeError('out of range'); };
exports.mark = async (event) => {
  require('fs').writeFileSync(event.path, JSON.stringify(event));
  return 'marked';
};
exports.records = async (event) => {
  for (const r of event.Records) {
    require('fs').writeFileSync(require('path').join(process.env.OUT, r.messageId), JSON.stringify(r));
  }
};
exports.slow = async () => { await new Promise(r => setTimeout(r, 5000)); };
"""

SDK_V2_HANDLER = r"""
const AWS = require('aws-sdk')
const SFN = new AWS.StepFunctions()
module.exports.list = async () => {
  const out = await SFN.listStateMachines({}).promise()
  return out.stateMachines.map(s => s.name)
}
"""

BOTO3_HANDLER = """
import boto3
sfn = boto3.client("stepfunctions")

def handler(event, context):
    return [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
"""


def lambda_client(server, **config):
    cfg = {"retries": {"max_attempts": 1}, "read_timeout": 120, "connect_timeout": 5}
    cfg.update(config)
    return boto3.session.Session().client(
        "lambda",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**cfg),
    )


def baton_api(server, method, path, body=None):
    req = urllib.request.Request(
        server.endpoint + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/baton/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            data = resp.read()
            return resp.status, json.loads(data) if data else {}
    except urllib.error.HTTPError as e:
        data = e.read()
        return e.code, json.loads(data) if data else {}


def put_function(server, name, folder, handler, runtime="nodejs20.x", **extra):
    body = {"Runtime": runtime, "Handler": handler, "CodeDirectory": str(folder), **extra}
    status, out = baton_api(server, "PUT", f"/_baton/v1/functions/{name}", body)
    assert status == 200, out
    return out


@pytest.fixture
def lam(server):
    return lambda_client(server)


@pytest.fixture
def node_app(tmp_path):
    d = tmp_path / "node-app"
    d.mkdir()
    (d / "handler.js").write_text(NODE_HANDLER)
    # The app bundles its SDK (v3 marker): nothing to install for these tests.
    (d / "node_modules" / "@aws-sdk").mkdir(parents=True)
    return d


def test_functions_are_created_from_a_folder_and_described(server, lam, node_app):
    name = unique("fn")
    out = put_function(server, name, node_app, "handler.echo", Environment={"Variables": {"AB": "1"}})
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    assert out["FunctionArn"] == arn
    assert out["Timeout"] == 6

    got = lam.get_function(FunctionName=name)
    cfg = got["Configuration"]
    assert cfg["FunctionName"] == name
    assert cfg["Runtime"] == "nodejs20.x"
    assert cfg["Handler"] == "handler.echo"
    assert cfg["Environment"] == {"Variables": {"AB": "1"}}
    assert cfg["State"] == "Active"
    assert lam.get_function_configuration(FunctionName=arn)["FunctionArn"] == arn

    for i in range(3):
        put_function(server, f"{name}-{i}", node_app, "handler.echo")
    names = [f["FunctionName"] for p in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}) for f in p["Functions"]]
    assert sorted(names) == sorted([name] + [f"{name}-{i}" for i in range(3)])

    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.get_function(FunctionName=name)
    assert e.value.response["Error"]["Message"] == f"Function not found: {arn}"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_bad_function_definitions_are_refused(server, node_app):
    status, out = baton_api(server, "PUT", "/_baton/v1/functions/f", {"Runtime": "java17", "Handler": "a.b", "CodeDirectory": str(node_app)})
    assert status == 400 and "not supported by Baton" in out["message"], out
    status, out = baton_api(server, "PUT", "/_baton/v1/functions/f", {"Runtime": "nodejs20.x", "Handler": "a.b", "CodeDirectory": "/no/such/folder"})
    assert status == 400, out


def test_invoke_request_response_event_and_dry_run(server, lam, node_app, tmp_path):
    name = unique("echo")
    put_function(server, name, node_app, "handler.echo")
    r = lam.invoke(FunctionName=name, Payload=json.dumps({"hello": "world"}), LogType="Tail")
    assert r["StatusCode"] == 200
    assert r["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in r
    body = json.loads(r["Payload"].read())
    assert body["event"] == {"hello": "world"}
    assert body["name"] == name
    assert body["arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    assert body["region"] == REGION
    log = base64.b64decode(r["LogResult"]).decode()
    rid = body["requestId"]
    assert f"START RequestId: {rid} Version: $LATEST" in log
    assert f"\t{rid}\tINFO\tgot {{\"hello\":\"world\"}}" in log
    assert f"END RequestId: {rid}" in log
    assert f"REPORT RequestId: {rid}\tDuration:" in log

    boom = unique("boom")
    put_function(server, boom, node_app, "handler.boom")
    r = lam.invoke(FunctionName=boom, Payload=b"{}")
    assert r["StatusCode"] == 200
    assert r["FunctionError"] == "Unhandled"
    err = json.loads(r["Payload"].read())
    assert err["errorType"] == "RangeError"
    assert err["errorMessage"] == "out of range"
    assert err["trace"][0].startswith("RangeError: out of range")

    mark = unique("mark")
    put_function(server, mark, node_app, "handler.mark")
    target = tmp_path / "marked.json"
    r = lam.invoke(FunctionName=mark, InvocationType="Event", Payload=json.dumps({"path": str(target)}))
    assert r["StatusCode"] == 202
    wait_for(target.exists, timeout=30, what="the Event invocation")

    r = lam.invoke(FunctionName=mark, InvocationType="DryRun")
    assert r["StatusCode"] == 204


def test_invoke_errors_are_lambdas(server, lam, node_app):
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.invoke(FunctionName="nope", Payload=b"{}")
    assert e.value.response["Error"]["Message"] == f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope:$LATEST"
    name = unique("echo")
    put_function(server, name, node_app, "handler.echo")
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=name, Payload=b"{not json")
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.invoke(FunctionName=name, Qualifier="7", Payload=b"{}")
    assert e.value.response["Error"]["Message"].endswith(f"function:{name}:7")


def test_timeouts_are_enforced(server, lam, node_app):
    name = unique("slow")
    put_function(server, name, node_app, "handler.slow", Timeout=1)
    started = time.monotonic()
    r = lam.invoke(FunctionName=name, Payload=b"{}")
    assert time.monotonic() - started < 4
    assert r["FunctionError"] == "Unhandled"
    err = json.loads(r["Payload"].read())
    assert err["errorMessage"].endswith("Task timed out after 1.00 seconds"), err


def test_aws_cli_invokes_a_python_function(server, tmp_path):
    app = tmp_path / "py-app"
    app.mkdir()
    (app / "app.py").write_text("def handler(event, context):\n    print('hi from python')\n    return {'sum': event['a'] + event['b']}\n")
    (app / "boto3").mkdir()
    (app / "boto3" / "__init__.py").write_text("")
    name = unique("py")
    put_function(server, name, app, "app.handler", runtime="python3.12")
    out = tmp_path / "out.json"
    env = dict(os.environ)
    p = subprocess.run(
        [aws_executable(), "lambda", "invoke", "--endpoint-url", server.endpoint, "--function-name", name,
         "--payload", '{"a": 2, "b": 3}', "--log-type", "Tail", str(out), "--output", "json"],
        capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 0, p.stderr
    meta = json.loads(p.stdout)
    assert meta["StatusCode"] == 200
    assert "hi from python" in base64.b64decode(meta["LogResult"]).decode()
    assert json.loads(out.read_text()) == {"sum": 5}


def test_handlers_call_baton_through_the_runtimes_sdk(server, lam, tmp_path, sfn):
    """aws-sdk v2 (nodejs12.x) and boto3 (python) come from Baton's cache and
    reach Baton itself, unconfigured."""
    sm = unique("sm")
    sfn.create_state_machine(
        name=sm,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
    )
    node = tmp_path / "v2-app"
    node.mkdir()
    (node / "handler.js").write_text(SDK_V2_HANDLER)
    name = unique("v2")
    put_function(server, name, node, "handler.list", runtime="nodejs12.x")
    r = lam.invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, payload
    assert sm in payload

    py = tmp_path / "boto3-app"
    py.mkdir()
    (py / "app.py").write_text(BOTO3_HANDLER)
    name = unique("boto3")
    put_function(server, name, py, "app.handler", runtime="python3.12")
    r = lam.invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, payload
    assert sm in payload


def sqs_client(server):
    return boto3.session.Session().client(
        "sqs", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def test_event_source_mappings_api(server, lam, node_app):
    name = unique("consumer")
    put_function(server, name, node_app, "handler.echo")
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('q')}"
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_event_source_mapping(EventSourceArn="arn:aws:kinesis:us-east-1:000000000000:stream/s", FunctionName=name)
    try:
        sqs_client(server).create_queue(QueueName=arn.rsplit(":", 1)[1])
    except Exception:
        pass  # without SQS the mapping still stands; its poller retries
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=5)
    assert m["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert m["State"] == "Creating"
    assert m["BatchSize"] == 5
    assert m["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    uuid = m["UUID"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    got = lam.get_event_source_mapping(UUID=uuid)
    assert got["State"] == "Enabled"
    assert got["EventSourceArn"] == arn
    listed = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert [x["UUID"] for x in listed] == [uuid]
    up = lam.update_event_source_mapping(UUID=uuid, Enabled=False, BatchSize=3)
    assert up["State"] == "Updating"
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"
    assert lam.delete_event_source_mapping(UUID=uuid)["State"] == "Deleting"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_event_source_mapping(UUID=uuid)


def test_sqs_messages_reach_the_function(server, lam, node_app, tmp_path):
    sqs = sqs_client(server)
    try:
        url = sqs.create_queue(QueueName=unique("in"))["QueueUrl"]
    except Exception as e:  # the SQS service is another piece of Baton
        pytest.skip(f"SQS is not available in this build: {e}")
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    out = tmp_path / "seen"
    out.mkdir()
    name = unique("records")
    put_function(server, name, node_app, "handler.records", Environment={"Variables": {"OUT": str(out)}})
    lam.create_event_source_mapping(EventSourceArn=qarn, FunctionName=name, BatchSize=1)
    sent = sqs.send_message(QueueUrl=url, MessageBody='{"Token": "t"}',
                            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    mid = sent["MessageId"]
    wait_for(lambda: (out / mid).exists(), timeout=40, what="the message to reach the function")
    record = json.loads((out / mid).read_text())
    assert record["body"] == '{"Token": "t"}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == qarn
    assert record["messageAttributes"]["k"]["stringValue"] == "v"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"

    def drained():
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return a["ApproximateNumberOfMessages"] == "0" and a["ApproximateNumberOfMessagesNotVisible"] == "0"

    wait_for(drained, timeout=20, what="the processed message to be deleted")


def test_functions_and_logs_survive_a_restart_and_baton_logs_prints_them(server, lam, node_app):
    name = unique("kept")
    put_function(server, name, node_app, "handler.echo")
    r = lam.invoke(FunctionName=name, Payload=b'{"n": 1}')
    rid = json.loads(r["Payload"].read())["requestId"]
    server.restart()
    lam = lambda_client(server)
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
    r = lam.invoke(FunctionName=name, Payload=b'{"n": 2}')
    rid2 = json.loads(r["Payload"].read())["requestId"]

    status, logs = baton_api(server, "GET", f"/_baton/v1/functions/{name}/logs")
    assert status == 200, logs
    ids = [i["RequestId"] for i in logs["Invocations"]]
    assert ids == [rid, rid2]

    p = subprocess.run(
        [str(baton_bin()), "logs", name, "--endpoint", server.endpoint, "--region", REGION],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 0, p.stderr
    assert f"START RequestId: {rid} Version: $LATEST" in p.stdout
    assert f"REPORT RequestId: {rid2}" in p.stdout
    assert "got {\"n\":2}" in p.stdout

    p = subprocess.run(
        [str(baton_bin()), "logs", "nope", "--endpoint", server.endpoint],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert p.returncode != 0
    assert "ResourceNotFoundException" in p.stderr
