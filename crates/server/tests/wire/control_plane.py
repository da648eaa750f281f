"""Drives a running `baton serve` with boto3 (real client, unmodified).

Not wired into CI. Usage:
    baton serve --listen 127.0.0.1:4566 --data "$(mktemp -d)" &
    BATON_ENDPOINT=http://127.0.0.1:4566 python3 control_plane.py
Exits non-zero on the first failed check.
"""

import json
import os
import sys
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ.get("BATON_ENDPOINT", "http://127.0.0.1:4566")
ROLE = "arn:aws:iam::000000000000:role/sfn"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

sfn = boto3.client(
    "stepfunctions",
    endpoint_url=ENDPOINT,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    config=Config(retries={"max_attempts": 1}, inject_host_prefix=False),
)


def expect_error(code, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"expected {code}, got {got}: {e}"
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return e.response["Error"]["Message"]
    raise AssertionError(f"expected {code}, the call succeeded")


def main():
    name = f"wire-{uuid.uuid4().hex[:8]}"
    created = sfn.create_state_machine(name=name, definition=PASS, roleArn=ROLE)
    arn = created["stateMachineArn"]
    assert arn == f"arn:aws:states:us-east-1:000000000000:stateMachine:{name}", arn
    assert created["creationDate"].year >= 2024
    again = sfn.create_state_machine(name=name, definition=PASS, roleArn=ROLE)
    assert again["stateMachineArn"] == arn

    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert d["status"] == "ACTIVE" and d["type"] == "STANDARD" and d["definition"] == PASS
    assert d["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}

    msg = expect_error("StateMachineAlreadyExists", sfn.create_state_machine,
                       name=name, definition=PASS.replace(" ", ""), roleArn=ROLE)
    assert msg == f"State Machine Already Exists: '{arn}'", msg
    expect_error("InvalidDefinition", sfn.create_state_machine, name=name + "x", definition="{}", roleArn=ROLE)
    expect_error("InvalidArn", sfn.describe_state_machine, stateMachineArn="not_a_valid_arn")
    expect_error("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=arn + "nope")

    u = sfn.update_state_machine(stateMachineArn=arn, roleArn="arn:aws:iam::000000000000:role/other")
    assert len(u["revisionId"]) == 36
    assert sfn.describe_state_machine(stateMachineArn=arn)["revisionId"] == u["revisionId"]

    listed = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert name in listed
    pages = list(sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 1}))
    assert sum(len(p["stateMachines"]) for p in pages) == len(listed)

    v = sfn.validate_state_machine_definition(definition="{}")
    assert v["result"] == "FAIL" and v["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED", v

    act = sfn.create_activity(name=name, tags=[{"key": "k", "value": "v"}])
    assert sfn.describe_activity(activityArn=act["activityArn"])["name"] == name
    assert sfn.list_tags_for_resource(resourceArn=act["activityArn"])["tags"] == [{"key": "k", "value": "v"}]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == []
    sfn.delete_activity(activityArn=act["activityArn"])
    expect_error("ActivityDoesNotExist", sfn.describe_activity, activityArn=act["activityArn"])

    expect_error("UnsupportedOperation", sfn.publish_state_machine_version, stateMachineArn=arn)

    sfn.delete_state_machine(stateMachineArn=arn)
    expect_error("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=arn)
    print("control_plane.py: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
