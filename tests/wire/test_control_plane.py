"""Control plane through boto3 and the aws CLI: state machines, validate,
activities, tags, and the error shapes each client shows. (Grew out of the
stand-alone boto3 script that lived in crates/server/tests/wire.)"""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from baton_wire import ACCOUNT, REGION, ROLE, boto_client, unique

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
PASS2 = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Pass", "Result": 2, "End": True}}})


def sm_arn(name):
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def expect_error(code, fn, **kwargs):
    with pytest.raises(ClientError) as info:
        fn(**kwargs)
    err = info.value.response["Error"]
    assert err["Code"] == code, err
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return err["Message"]


def test_state_machine_lifecycle_boto3(sfn):
    name = unique("wire")
    created = sfn.create_state_machine(name=name, definition=PASS, roleArn=ROLE)
    arn = created["stateMachineArn"]
    assert arn == sm_arn(name)
    assert isinstance(created["creationDate"], datetime.datetime)
    assert created["creationDate"].tzinfo is not None
    # idempotent on the same name + definition
    assert sfn.create_state_machine(name=name, definition=PASS, roleArn=ROLE)["stateMachineArn"] == arn

    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert d["name"] == name and d["status"] == "ACTIVE" and d["type"] == "STANDARD"
    assert d["definition"] == PASS and d["roleArn"] == ROLE
    assert d["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert isinstance(d["creationDate"], datetime.datetime)

    msg = expect_error("StateMachineAlreadyExists", sfn.create_state_machine, name=name, definition=PASS2, roleArn=ROLE)
    assert msg == f"State Machine Already Exists: '{arn}'"

    u = sfn.update_state_machine(stateMachineArn=arn, definition=PASS2)
    assert isinstance(u["updateDate"], datetime.datetime)
    assert len(u["revisionId"]) == 36
    d2 = sfn.describe_state_machine(stateMachineArn=arn)
    assert d2["definition"] == PASS2 and d2["revisionId"] == u["revisionId"]
    expect_error("MissingRequiredParameter", sfn.update_state_machine, stateMachineArn=arn)
    other_role = f"arn:aws:iam::{ACCOUNT}:role/other"
    u2 = sfn.update_state_machine(stateMachineArn=arn, roleArn=other_role)
    d3 = sfn.describe_state_machine(stateMachineArn=arn)
    assert d3["roleArn"] == other_role and d3["revisionId"] == u2["revisionId"] != u["revisionId"]

    sfn.delete_state_machine(stateMachineArn=arn)
    msg = expect_error("StateMachineDoesNotExist", sfn.describe_state_machine, stateMachineArn=arn)
    assert msg == f"State Machine Does Not Exist: '{arn}'"


def test_list_state_machines_paginator(sfn):
    names = sorted(unique(f"list{i}") for i in range(5))
    for n in names:
        sfn.create_state_machine(name=n, definition=PASS, roleArn=ROLE)
    first = sfn.list_state_machines(maxResults=2)
    assert len(first["stateMachines"]) == 2 and first.get("nextToken")
    pages = list(sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    listed = [m["name"] for p in pages for m in p["stateMachines"]]
    assert sorted(listed) == names
    for m in pages[0]["stateMachines"]:
        assert set(m) >= {"stateMachineArn", "name", "type", "creationDate"}
        assert isinstance(m["creationDate"], datetime.datetime)
    expect_error("InvalidToken", sfn.list_state_machines, nextToken="garbage-token")


def test_create_errors_boto3(sfn):
    msg = expect_error("InvalidDefinition", sfn.create_state_machine, name=unique("bad"), definition="{}", roleArn=ROLE)
    assert msg.startswith("Invalid State Machine Definition: '"), msg
    # state names are unique across the whole machine, Parallel branches included
    branch = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    dup = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [branch, branch], "End": True}}})
    msg = expect_error("InvalidDefinition", sfn.create_state_machine, name=unique("dup"), definition=dup, roleArn=ROLE)
    assert "DUPLICATE_STATE_NAME" in msg, msg
    expect_error("InvalidName", sfn.create_state_machine, name="bad name", definition=PASS, roleArn=ROLE)
    expect_error("InvalidArn", sfn.describe_state_machine, stateMachineArn="not_a_valid_arn")
    # an Express machine may not use .waitForTaskToken
    wft = json.dumps(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                    "Parameters": {"StateMachineArn": sm_arn("x"), "Input": {"t.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        }
    )
    msg = expect_error(
        "InvalidDefinition",
        sfn.create_state_machine,
        name=unique("expr"),
        definition=wft,
        roleArn=ROLE,
        type="EXPRESS",
    )
    assert "Express state machine does not support '.waitForTaskToken' service integration" in msg, msg


def test_validate_definition(sfn):
    ok = sfn.validate_state_machine_definition(definition=PASS)
    assert ok["result"] == "OK" and ok["diagnostics"] == []
    bad = sfn.validate_state_machine_definition(definition="{}")
    assert bad["result"] == "FAIL"
    d = bad["diagnostics"][0]
    assert d["severity"] == "ERROR" and d["code"] == "SCHEMA_VALIDATION_FAILED" and d["message"]


def test_activities_and_tags_boto3(sfn):
    name = unique("act")
    act = sfn.create_activity(name=name, tags=[{"key": "k", "value": "v"}])
    aarn = act["activityArn"]
    assert aarn == f"arn:aws:states:{REGION}:{ACCOUNT}:activity:{name}"
    assert isinstance(act["creationDate"], datetime.datetime)
    assert sfn.create_activity(name=name)["activityArn"] == aarn  # idempotent
    d = sfn.describe_activity(activityArn=aarn)
    assert d["name"] == name and isinstance(d["creationDate"], datetime.datetime)
    listed = sfn.list_activities()["activities"]
    assert [a["name"] for a in listed] == [name]
    assert sfn.list_tags_for_resource(resourceArn=aarn)["tags"] == [{"key": "k", "value": "v"}]

    sm = sfn.create_state_machine(name=unique("tagged"), definition=PASS, roleArn=ROLE)["stateMachineArn"]
    sfn.tag_resource(resourceArn=sm, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    tags = sfn.list_tags_for_resource(resourceArn=sm)["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("a", "1"), ("b", "2")]
    sfn.untag_resource(resourceArn=sm, tagKeys=["a"])
    assert sfn.list_tags_for_resource(resourceArn=sm)["tags"] == [{"key": "b", "value": "2"}]
    expect_error("ResourceNotFound", sfn.list_tags_for_resource, resourceArn=sm_arn("no-such"))

    sfn.delete_activity(activityArn=aarn)
    msg = expect_error("ActivityDoesNotExist", sfn.describe_activity, activityArn=aarn)
    assert msg == f"Activity Does Not Exist: '{aarn}'"


def test_unsupported_action_is_clear(sfn):
    arn = sfn.create_state_machine(name=unique("v"), definition=PASS, roleArn=ROLE)["stateMachineArn"]
    msg = expect_error("UnsupportedOperation", sfn.publish_state_machine_version, stateMachineArn=arn)
    assert msg


# ----- the aws CLI ---------------------------------------------------------


def test_state_machine_lifecycle_cli(cli, tmp_path):
    name = unique("cli")
    defn = tmp_path / "def.json"
    defn.write_text(PASS)
    created = cli.ok("create-state-machine", "--name", name, "--definition", f"file://{defn}", "--role-arn", ROLE)
    arn = created["stateMachineArn"]
    assert arn == sm_arn(name)
    # the CLI v1 prints timestamps as the wire sends them: epoch seconds
    assert isinstance(created["creationDate"], (int, float)) and created["creationDate"] > 1.7e9

    d = cli.ok("describe-state-machine", "--state-machine-arn", arn)
    assert d["definition"] == PASS and d["status"] == "ACTIVE"

    err = cli.fails("create-state-machine", "--name", name, "--definition", PASS2, "--role-arn", ROLE)
    assert (
        f"An error occurred (StateMachineAlreadyExists) when calling the CreateStateMachine operation: "
        f"State Machine Already Exists: '{arn}'" in err
    ), err

    u = cli.ok("update-state-machine", "--state-machine-arn", arn, "--definition", PASS2)
    assert "revisionId" in u and "updateDate" in u
    assert cli.ok("describe-state-machine", "--state-machine-arn", arn)["definition"] == PASS2

    listed = cli.ok("list-state-machines")["stateMachines"]
    assert [m["name"] for m in listed] == [name]

    v = cli.ok("validate-state-machine-definition", "--definition", "{}")
    assert v["result"] == "FAIL" and v["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED"

    cli.ok("tag-resource", "--resource-arn", arn, "--tags", "key=team,value=core")
    assert cli.ok("list-tags-for-resource", "--resource-arn", arn)["tags"] == [{"key": "team", "value": "core"}]
    cli.ok("untag-resource", "--resource-arn", arn, "--tag-keys", "team")
    assert cli.ok("list-tags-for-resource", "--resource-arn", arn)["tags"] == []

    cli.ok("delete-state-machine", "--state-machine-arn", arn)
    err = cli.fails("describe-state-machine", "--state-machine-arn", arn)
    assert (
        "An error occurred (StateMachineDoesNotExist) when calling the DescribeStateMachine operation: "
        f"State Machine Does Not Exist: '{arn}'" in err
    ), err


def test_activities_cli(cli):
    name = unique("cliact")
    aarn = cli.ok("create-activity", "--name", name)["activityArn"]
    assert cli.ok("describe-activity", "--activity-arn", aarn)["name"] == name
    assert [a["activityArn"] for a in cli.ok("list-activities")["activities"]] == [aarn]
    cli.ok("delete-activity", "--activity-arn", aarn)
    err = cli.fails("describe-activity", "--activity-arn", aarn)
    assert "An error occurred (ActivityDoesNotExist) when calling the DescribeActivity operation" in err, err


def test_cli_errors(cli):
    err = cli.fails("create-state-machine", "--name", unique("bad"), "--definition", "{}", "--role-arn", ROLE)
    assert "An error occurred (InvalidDefinition) when calling the CreateStateMachine operation" in err, err
    err = cli.fails("describe-state-machine", "--state-machine-arn", "not_a_valid_arn")
    assert "An error occurred (InvalidArn) when calling the DescribeStateMachine operation" in err, err
    err = cli.fails("send-task-success", "--task-token", "FakeTaskToken", "--task-output", "{}")
    assert (
        "An error occurred (InvalidToken) when calling the SendTaskSuccess operation: Invalid Token: 'Invalid token'"
        in err
    ), err


def test_account_from_option_and_access_key(server_factory):
    import boto3
    from botocore.config import Config

    fixed = server_factory("--account", "123456789012")
    arn = boto_client(fixed).create_state_machine(name="acct", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    assert arn == f"arn:aws:states:{REGION}:123456789012:stateMachine:acct"

    plain = server_factory()
    by_key = boto3.session.Session().client(
        "stepfunctions",
        endpoint_url=plain.endpoint,
        region_name="eu-west-1",
        aws_access_key_id="210987654321",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    arn = by_key.create_state_machine(name="acct", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    # the region comes from the request's SigV4 scope, the account from a 12-digit key id
    assert arn == "arn:aws:states:eu-west-1:210987654321:stateMachine:acct"
