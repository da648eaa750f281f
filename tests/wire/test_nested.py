"""Nested executions: `states:startExecution` (request-response, `.sync`,
`.sync:2`, `.waitForTaskToken`) and a child that answers its parent's token
with `aws-sdk:sfn:sendTaskSuccess` / `sendTaskFailure`."""

import json

import pytest

from baton_wire import ROLE, event_types, history, unique, wait_for, wait_status


def create(sfn, definition, prefix="m"):
    return sfn.create_state_machine(name=unique(prefix), definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


def child_pass(sfn):
    return create(
        sfn,
        {"StartAt": "C", "States": {"C": {"Type": "Pass", "Parameters": {"got.$": "$.v", "child": True}, "End": True}}},
        "child",
    )


def parent(sfn, resource, child, extra=None):
    task = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": {"StateMachineArn": child, "Input": {"v.$": "$.v"}},
        "End": True,
    }
    task.update(extra or {})
    return create(sfn, {"StartAt": "Run", "States": {"Run": task}}, "parent")


def started_child(sfn, parent_arn):
    events = history(sfn, parent_arn)
    for e in events:
        if e["type"] == "TaskSubmitted":
            return json.loads(e["taskSubmittedEventDetails"]["output"])["ExecutionArn"]
    return None


def test_sync2_parent_child(sfn):
    child = child_pass(sfn)
    p = parent(sfn, "arn:aws:states:::states:startExecution.sync:2", child)
    arn = sfn.start_execution(stateMachineArn=p, input='{"v": 5}')["executionArn"]
    d = wait_status(sfn, arn)
    assert d["status"] == "SUCCEEDED", d
    out = json.loads(d["output"])
    assert out["Status"] == "SUCCEEDED"
    assert out["Output"] == {"got": 5, "child": True}  # parsed JSON with :2
    assert out["Input"] == {"v": 5}
    assert out["StateMachineArn"] == child
    child_arn = out["ExecutionArn"]
    assert sfn.describe_execution(executionArn=child_arn)["status"] == "SUCCEEDED"
    types = event_types(history(sfn, arn))
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    sched = history(sfn, arn)[2]["taskScheduledEventDetails"]
    assert sched["resourceType"] == "states" and sched["resource"] == "startExecution.sync:2"


def test_sync_output_is_text(sfn):
    child = child_pass(sfn)
    p = parent(sfn, "arn:aws:states:::states:startExecution.sync", child)
    arn = sfn.start_execution(stateMachineArn=p, input='{"v": "x"}')["executionArn"]
    out = json.loads(wait_status(sfn, arn)["output"])
    assert isinstance(out["Output"], str) and json.loads(out["Output"]) == {"got": "x", "child": True}
    assert isinstance(out["Input"], str)


def test_request_response_start(sfn):
    child = child_pass(sfn)
    p = parent(sfn, "arn:aws:states:::states:startExecution", child)
    arn = sfn.start_execution(stateMachineArn=p, input='{"v": 1}')["executionArn"]
    out = json.loads(wait_status(sfn, arn)["output"])
    assert out["ExecutionArn"].startswith(child.replace(":stateMachine:", ":execution:") + ":")
    assert "StartDate" in out
    assert wait_status(sfn, out["ExecutionArn"])["status"] == "SUCCEEDED"


def test_sync_child_failure(sfn):
    child = create(sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Child.Err", "Cause": "bad"}}})
    p = parent(sfn, "arn:aws:states:::states:startExecution.sync:2", child)
    arn = sfn.start_execution(stateMachineArn=p, input='{"v": 1}')["executionArn"]
    d = wait_status(sfn, arn)
    assert d["status"] == "FAILED" and d["error"] == "States.TaskFailed"
    cause = json.loads(d["cause"])
    assert cause["Status"] == "FAILED" and cause["Error"] == "Child.Err" and cause["Cause"] == "bad"


def test_sync2_child_waits_on_an_activity(sfn):
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    child = create(sfn, {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": act, "End": True}}}, "child")
    p = parent(sfn, "arn:aws:states:::states:startExecution.sync:2", child)
    arn = sfn.start_execution(stateMachineArn=p, input='{"v": 3}')["executionArn"]
    task = sfn.get_activity_task(activityArn=act, workerName="nested")
    assert json.loads(task["input"]) == {"v": 3}
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=task["taskToken"], output='{"from": "worker"}')
    out = json.loads(wait_status(sfn, arn)["output"])
    assert out["Output"] == {"from": "worker"}


def test_stopping_the_parent_stops_a_sync_child(sfn):
    wait_child = create(sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    p = parent(sfn, "arn:aws:states:::states:startExecution.sync:2", wait_child)
    arn = sfn.start_execution(stateMachineArn=p, input='{"v": 1}')["executionArn"]
    child_arn = wait_for(lambda: started_child(sfn, arn), what="the child to start")
    sfn.stop_execution(executionArn=arn)
    assert wait_status(sfn, child_arn, timeout=8)["status"] == "ABORTED"


def wft_parent(sfn, child, extra=None):
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token", "v.$": "$.v"}},
        "End": True,
    }
    task.update(extra or {})
    return create(sfn, {"StartAt": "Ask", "States": {"Ask": task}}, "wftparent")


def test_wait_for_task_token_child_answers_with_aws_sdk(sfn):
    child = create(
        sfn,
        {
            "StartAt": "Answer",
            "States": {
                "Answer": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
                    "Parameters": {"TaskToken.$": "$.token", "Output.$": "States.JsonToString($.v)"},
                    "End": True,
                }
            },
        },
        "answerer",
    )
    p = wft_parent(sfn, child)
    arn = sfn.start_execution(stateMachineArn=p, input='{"v": {"k": [1, 2]}}')["executionArn"]
    d = wait_status(sfn, arn)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"k": [1, 2]}
    events = history(sfn, arn)
    assert event_types(events) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert events[2]["taskScheduledEventDetails"]["resource"] == "startExecution.waitForTaskToken"
    child_arn = json.loads(events[4]["taskSubmittedEventDetails"]["output"])["ExecutionArn"]
    c = wait_status(sfn, child_arn)
    assert c["status"] == "SUCCEEDED"
    assert json.loads(c["output"]) == {}  # SendTaskSuccess returns an empty object


def test_wait_for_task_token_child_fails_the_parent(sfn):
    child = create(
        sfn,
        {
            "StartAt": "Refuse",
            "States": {
                "Refuse": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskFailure",
                    "Parameters": {"TaskToken.$": "$.token", "Error": "Nope", "Cause": "child said no"},
                    "End": True,
                }
            },
        },
        "refuser",
    )
    p = wft_parent(sfn, child)
    arn = sfn.start_execution(stateMachineArn=p, input='{"v": 1}')["executionArn"]
    d = wait_status(sfn, arn)
    assert d["status"] == "FAILED" and d["error"] == "Nope" and d["cause"] == "child said no"


def test_wait_for_task_token_answered_by_the_test(sfn):
    """The child just waits; the test answers the token it finds in the child's input."""
    child = create(sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    p = wft_parent(sfn, child)
    arn = sfn.start_execution(stateMachineArn=p, input='{"v": 1}')["executionArn"]
    child_arn = wait_for(lambda: started_child(sfn, arn), what="the child to start")
    token = json.loads(sfn.describe_execution(executionArn=child_arn)["input"])["token"]
    sfn.send_task_success(taskToken=token, output='"done"')
    assert wait_status(sfn, arn)["output"] == '"done"'
    # an aws-sdk call with a dead token fails the child with the service's error
    expect = "Task Timed Out: 'Provided task does not exist anymore'"
    answerer = create(
        sfn,
        {
            "StartAt": "Answer",
            "States": {
                "Answer": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
                    "Parameters": {"TaskToken": token, "Output": "{}"},
                    "End": True,
                }
            },
        },
    )
    late = wait_status(sfn, sfn.start_execution(stateMachineArn=answerer)["executionArn"])
    assert late["status"] == "FAILED"
    assert late["error"] == "Sfn.TaskTimedOutException", late
    assert expect in late["cause"], late
