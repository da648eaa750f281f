"""Executions through boto3 and the aws CLI: start (idempotent name reuse),
describe, list (status filter, pagination), history (pagination,
reverseOrder, includeExecutionData), stop."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from baton_wire import ACCOUNT, REGION, ROLE, event_types, history, unique, wait_status

LONG_WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
CHAIN = json.dumps(
    {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a.a, $.n)"}, "Next": "C"},
            "C": {"Type": "Succeed"},
        },
    }
)
FAILS = json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "on purpose"}}})


def machine(sfn, definition, prefix="m"):
    return sfn.create_state_machine(name=unique(prefix), definition=definition, roleArn=ROLE)["stateMachineArn"]


def expect_error(code, fn, **kwargs):
    with pytest.raises(ClientError) as info:
        fn(**kwargs)
    assert info.value.response["Error"]["Code"] == code, info.value.response["Error"]
    return info.value.response["Error"]["Message"]


def test_start_describe_succeeded(sfn):
    sm = machine(sfn, CHAIN)
    started = sfn.start_execution(stateMachineArn=sm, name="first", input='{"n": 41}')
    name = sm.split(":")[-1]
    assert started["executionArn"] == f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{name}:first"
    assert isinstance(started["startDate"], datetime.datetime)
    d = wait_status(sfn, started["executionArn"])
    assert d["status"] == "SUCCEEDED"
    assert isinstance(d["startDate"], datetime.datetime) and isinstance(d["stopDate"], datetime.datetime)
    assert d["stopDate"] >= d["startDate"]
    assert d["stateMachineArn"] == sm and d["name"] == "first"
    assert json.loads(d["input"]) == {"n": 41}
    assert json.loads(d["output"]) == {"sum": 42}
    assert d["inputDetails"] == {"included": True} and d["outputDetails"] == {"included": True}

    # a generated name is a UUID
    anon = sfn.start_execution(stateMachineArn=sm)
    assert len(anon["executionArn"].split(":")[-1]) == 36
    assert json.loads(sfn.describe_execution(executionArn=anon["executionArn"])["input"]) == {}

    f = wait_status(sfn, sfn.start_execution(stateMachineArn=machine(sfn, FAILS))["executionArn"])
    assert f["status"] == "FAILED" and f["error"] == "Boom" and f["cause"] == "on purpose"
    assert "output" not in f

    forexec = sfn.describe_state_machine_for_execution(executionArn=started["executionArn"])
    assert forexec["definition"] == CHAIN and forexec["stateMachineArn"] == sm


def test_start_name_reuse(sfn):
    sm = machine(sfn, LONG_WAIT)
    a = sfn.start_execution(stateMachineArn=sm, name="same", input='{"x":1}')
    # same name + same input while RUNNING: the same execution comes back
    b = sfn.start_execution(stateMachineArn=sm, name="same", input='{"x":1}')
    assert b["executionArn"] == a["executionArn"] and b["startDate"] == a["startDate"]
    msg = expect_error("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=sm, name="same", input='{"x":2}')
    assert msg == f"Execution Already Exists: '{a['executionArn']}'", msg
    # once closed, any reuse is refused
    sfn.stop_execution(executionArn=a["executionArn"])
    expect_error("ExecutionAlreadyExists", sfn.start_execution, stateMachineArn=sm, name="same", input='{"x":1}')
    expect_error("InvalidExecutionInput", sfn.start_execution, stateMachineArn=sm, input="not json")
    expect_error("InvalidName", sfn.start_execution, stateMachineArn=sm, name="bad name")
    expect_error(
        "StateMachineDoesNotExist",
        sfn.start_execution,
        stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:nope",
    )
    expect_error(
        "ExecutionDoesNotExist",
        sfn.describe_execution,
        executionArn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:nope:x",
    )


def test_list_executions_filter_and_paginator(sfn):
    waiting = machine(sfn, LONG_WAIT)
    running = [sfn.start_execution(stateMachineArn=waiting, name=f"r{i}")["executionArn"] for i in range(5)]
    stopped = sfn.start_execution(stateMachineArn=waiting, name="s")["executionArn"]
    sfn.stop_execution(executionArn=stopped)

    everything = sfn.list_executions(stateMachineArn=waiting)["executions"]
    assert len(everything) == 6
    # newest first
    assert [e["name"] for e in everything][0] == "s"
    for e in everything:
        assert isinstance(e["startDate"], datetime.datetime)
    only_running = sfn.list_executions(stateMachineArn=waiting, statusFilter="RUNNING")["executions"]
    assert sorted(e["executionArn"] for e in only_running) == sorted(running)
    aborted = sfn.list_executions(stateMachineArn=waiting, statusFilter="ABORTED")["executions"]
    assert [e["executionArn"] for e in aborted] == [stopped]
    assert isinstance(aborted[0]["stopDate"], datetime.datetime)

    pages = list(
        sfn.get_paginator("list_executions").paginate(
            stateMachineArn=waiting, statusFilter="RUNNING", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["executions"]) for p in pages] == [2, 2, 1]
    assert sorted(e["executionArn"] for p in pages for e in p["executions"]) == sorted(running)
    expect_error("ValidationException", sfn.list_executions, stateMachineArn=waiting, statusFilter="NOPE")


def test_history_pagination_reverse_and_data(sfn):
    sm = machine(sfn, CHAIN)
    arn = sfn.start_execution(stateMachineArn=sm, input='{"n": 1}')["executionArn"]
    wait_status(sfn, arn)
    full = sfn.get_execution_history(executionArn=arn)["events"]
    assert event_types(full) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "PassStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in full] == list(range(1, 9))
    assert full[0]["previousEventId"] == 0
    assert all(isinstance(e["timestamp"], datetime.datetime) for e in full)
    assert json.loads(full[0]["executionStartedEventDetails"]["input"]) == {"n": 1}
    assert full[0]["executionStartedEventDetails"]["roleArn"] == ROLE
    assert json.loads(full[-1]["executionSucceededEventDetails"]["output"]) == {"sum": 2}

    pages = list(
        sfn.get_paginator("get_execution_history").paginate(executionArn=arn, PaginationConfig={"PageSize": 3})
    )
    assert [len(p["events"]) for p in pages] == [3, 3, 2]
    assert [e["id"] for p in pages for e in p["events"]] == list(range(1, 9))

    rev = history(sfn, arn, reverseOrder=True, PaginationConfig={"PageSize": 5})
    assert [e["id"] for e in rev] == list(range(8, 0, -1))

    bare = sfn.get_execution_history(executionArn=arn, includeExecutionData=False)["events"]
    assert event_types(bare) == event_types(full)
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "output" not in bare[-1]["executionSucceededEventDetails"]
    assert "input" not in bare[1]["stateEnteredEventDetails"]
    assert bare[1]["stateEnteredEventDetails"]["name"] == "A"
    expect_error("InvalidToken", sfn.get_execution_history, executionArn=arn, nextToken="garbage")


def test_stop_execution(sfn):
    sm = machine(sfn, LONG_WAIT)
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    stopped = sfn.stop_execution(executionArn=arn, error="Halt", cause="by the test")
    assert isinstance(stopped["stopDate"], datetime.datetime)
    d = sfn.describe_execution(executionArn=arn)
    assert d["status"] == "ABORTED" and d["error"] == "Halt" and d["cause"] == "by the test"
    events = history(sfn, arn)
    # as AWS records it (LocalStack's AWS snapshot test_stop_execution): no WaitStateAborted
    assert event_types(events) == ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Halt", "cause": "by the test"}


# ----- the aws CLI ---------------------------------------------------------


def test_executions_cli(sfn, cli):
    sm = machine(sfn, CHAIN)
    waiting = machine(sfn, LONG_WAIT)
    started = cli.ok("start-execution", "--state-machine-arn", sm, "--name", "one", "--input", '{"n": 2}')
    arn = started["executionArn"]
    assert arn.endswith(":one") and isinstance(started["startDate"], (int, float))
    wait_status(sfn, arn)
    d = cli.ok("describe-execution", "--execution-arn", arn)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"sum": 3}

    err = cli.fails("start-execution", "--state-machine-arn", sm, "--name", "one", "--input", '{"n": 2}')
    assert (
        "An error occurred (ExecutionAlreadyExists) when calling the StartExecution operation: "
        f"Execution Already Exists: '{arn}'" in err
    ), err

    w = cli.ok("start-execution", "--state-machine-arn", waiting, "--name", "w")["executionArn"]
    running = cli.ok("list-executions", "--state-machine-arn", waiting, "--status-filter", "RUNNING")["executions"]
    assert [e["executionArn"] for e in running] == [w]
    # the CLI paginates by itself; --max-items with --page-size crosses pages
    h = cli.ok("get-execution-history", "--execution-arn", arn, "--page-size", "2")
    assert [e["id"] for e in h["events"]] == list(range(1, 9))
    rev = cli.ok("get-execution-history", "--execution-arn", arn, "--reverse-order", "--no-include-execution-data")
    assert [e["id"] for e in rev["events"]] == list(range(8, 0, -1))
    assert "output" not in rev["events"][0]["executionSucceededEventDetails"]

    stop = cli.ok("stop-execution", "--execution-arn", w, "--error", "E", "--cause", "C")
    assert "stopDate" in stop
    assert cli.ok("describe-execution", "--execution-arn", w)["status"] == "ABORTED"
    err = cli.fails("describe-execution", "--execution-arn", w + "x")
    assert "An error occurred (ExecutionDoesNotExist) when calling the DescribeExecution operation" in err, err


def test_update_does_not_change_a_running_execution(sfn):
    act = sfn.create_activity(name=unique("act"))["activityArn"]

    def definition(tag):
        return json.dumps(
            {
                "StartAt": "T",
                "States": {
                    "T": {"Type": "Task", "Resource": act, "ResultPath": None, "Next": "Tag"},
                    "Tag": {"Type": "Pass", "Result": tag, "End": True},
                },
            }
        )

    sm = machine(sfn, definition("old"))
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token = sfn.get_activity_task(activityArn=act)["taskToken"]
    sfn.update_state_machine(stateMachineArn=sm, definition=definition("new"))
    sfn.send_task_success(taskToken=token, output="{}")
    assert wait_status(sfn, arn)["output"] == '"old"'
    assert sfn.describe_state_machine_for_execution(executionArn=arn)["definition"] == definition("old")
    later = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    sfn.send_task_success(taskToken=sfn.get_activity_task(activityArn=act)["taskToken"], output="{}")
    assert wait_status(sfn, later)["output"] == '"new"'


def test_pagination_is_complete_for_executions_started_together(sfn):
    sm = machine(sfn, CHAIN)
    arns = {sfn.start_execution(stateMachineArn=sm, input='{"n": 0}')["executionArn"] for _ in range(25)}
    for status in [None, "SUCCEEDED"]:
        if status:
            for a in arns:
                wait_status(sfn, a)
        kw = {"statusFilter": status} if status else {}
        pages = list(
            sfn.get_paginator("list_executions").paginate(stateMachineArn=sm, PaginationConfig={"PageSize": 4}, **kw)
        )
        seen = [e["executionArn"] for p in pages for e in p["executions"]]
        assert len(seen) == len(set(seen)) == 25 and set(seen) == arns
        starts = [e["startDate"] for p in pages for e in p["executions"]]
        assert starts == sorted(starts, reverse=True)
