"""Callbacks with activities, through real clients: a Python worker polls
GetActivityTask (boto3 with read_timeout=70: the poll is held up to 60 s),
then answers with SendTaskHeartbeat / SendTaskSuccess / SendTaskFailure.
Errors as AWS answers them (../shared/reference/aws-sfn-features.md §1.4)."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from baton_wire import ROLE, boto_client, event_types, history, unique, wait_status

TIMED_OUT = "Task Timed Out: 'Provided task does not exist anymore'"
INVALID = "Invalid Token: 'Invalid token'"


def expect_error(code, fn, **kwargs):
    with pytest.raises(ClientError) as info:
        fn(**kwargs)
    err = info.value.response["Error"]
    assert err["Code"] == code, err
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return err["Message"]


def activity_machine(sfn, task_extra=None, catch=False, definition_extra=None):
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    task = {"Type": "Task", "Resource": act, "End": True}
    task.update(task_extra or {})
    states = {"Work": task}
    if catch:
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Caught"}]
        states["Caught"] = {"Type": "Pass", "End": True}
    states.update(definition_extra or {})
    sm = sfn.create_state_machine(
        name=unique("cb"), definition=json.dumps({"StartAt": "Work", "States": states}), roleArn=ROLE
    )["stateMachineArn"]
    return act, sm


def poll(sfn, act, worker="wire-worker"):
    """One GetActivityTask; the task must come (it is already scheduled or
    will be within the 60 s poll)."""
    got = sfn.get_activity_task(activityArn=act, workerName=worker)
    assert got.get("taskToken"), got
    return got["taskToken"], json.loads(got["input"])


def test_success_output_verbatim_and_second_answer(sfn):
    act, sm = activity_machine(sfn, {"HeartbeatSeconds": 30, "TimeoutSeconds": 120})
    arn = sfn.start_execution(stateMachineArn=sm, input='{"job": 7}')["executionArn"]
    token, inp = poll(sfn, act)
    assert inp == {"job": 7}
    assert sfn.send_task_heartbeat(taskToken=token)["ResponseMetadata"]["HTTPStatusCode"] == 200
    # the output is a JSON string literal: recorded verbatim, stays a string
    sfn.send_task_success(taskToken=token, output='"abc"')
    d = wait_status(sfn, arn)
    assert d["status"] == "SUCCEEDED" and d["output"] == '"abc"'
    events = history(sfn, arn)
    assert event_types(events) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["previousEventId"] for e in events] == [0, 0, 2, 3, 4, 5, 6]
    sched = events[2]["activityScheduledEventDetails"]
    assert sched["resource"] == act and json.loads(sched["input"]) == {"job": 7}
    assert sched["heartbeatInSeconds"] == 30 and sched["timeoutInSeconds"] == 120
    assert events[3]["activityStartedEventDetails"] == {"workerName": "wire-worker"}
    assert events[4]["activitySucceededEventDetails"]["output"] == '"abc"'
    # heartbeats write no event; a second answer, or a heartbeat, now gets TaskTimedOut
    assert expect_error("TaskTimedOut", sfn.send_task_success, taskToken=token, output="{}") == TIMED_OUT
    assert expect_error("TaskTimedOut", sfn.send_task_failure, taskToken=token) == TIMED_OUT
    assert expect_error("TaskTimedOut", sfn.send_task_heartbeat, taskToken=token) == TIMED_OUT


def test_invalid_tokens_and_outputs(server, sfn):
    act, sm = activity_machine(sfn)
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token, _ = poll(sfn, act)
    for forged in ["FakeTaskToken", "x" * 600, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")]:
        assert expect_error("InvalidToken", sfn.send_task_success, taskToken=forged, output="{}") == INVALID
        assert expect_error("InvalidToken", sfn.send_task_heartbeat, taskToken=forged) == INVALID
        assert expect_error("InvalidToken", sfn.send_task_failure, taskToken=forged) == INVALID
    expect_error("InvalidOutput", sfn.send_task_success, taskToken=token, output="not json")
    # boto3 itself refuses a missing output; over raw HTTP it is a ValidationException
    req = urllib.request.Request(
        f"{server.endpoint}/",
        data=json.dumps({"taskToken": token}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AWSStepFunctions.SendTaskSuccess",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 400
    body = json.loads(info.value.read())
    assert body == {
        "__type": "com.amazon.coral.validate#ValidationException",
        "message": "1 validation error detected: Value at 'output' failed to satisfy constraint: Member must not be null",
    }
    # the task is still open after all of that
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output='{"ok": true}')
    assert json.loads(wait_status(sfn, arn)["output"]) == {"ok": True}


def test_failure_with_and_without_error_cause(sfn):
    act, sm = activity_machine(sfn, catch=True)
    with_fields = sfn.start_execution(stateMachineArn=sm, name="with", input='{"i": 1}')["executionArn"]
    token, _ = poll(sfn, act)
    sfn.send_task_failure(taskToken=token, error="Worker.Broke", cause="disk full")
    d = wait_status(sfn, with_fields)
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"]) == {"i": 1, "err": {"Error": "Worker.Broke", "Cause": "disk full"}}
    failed = [e for e in history(sfn, with_fields) if e["type"] == "ActivityFailed"]
    assert failed[0]["activityFailedEventDetails"] == {"error": "Worker.Broke", "cause": "disk full"}

    without = sfn.start_execution(stateMachineArn=sm, name="without", input='{"i": 2}')["executionArn"]
    token, _ = poll(sfn, act)
    sfn.send_task_failure(taskToken=token)
    d = wait_status(sfn, without)
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"]) == {"i": 2, "err": {"Error": None, "Cause": None}}
    failed = [e for e in history(sfn, without) if e["type"] == "ActivityFailed"]
    assert failed[0].get("activityFailedEventDetails", {}) == {}


def test_uncaught_failure_fails_execution(sfn):
    act, sm = activity_machine(sfn)
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token, _ = poll(sfn, act)
    sfn.send_task_failure(taskToken=token, error="E", cause="C")
    d = wait_status(sfn, arn)
    assert d["status"] == "FAILED" and d["error"] == "E" and d["cause"] == "C"
    assert event_types(history(sfn, arn))[-2:] == ["ActivityFailed", "ExecutionFailed"]


def test_heartbeat_timeout(sfn):
    act, sm = activity_machine(sfn, {"HeartbeatSeconds": 1, "TimeoutSeconds": 60})
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token, _ = poll(sfn, act)
    t0 = time.monotonic()
    d = wait_status(sfn, arn, timeout=20)
    assert time.monotonic() - t0 < 10
    assert d["status"] == "FAILED" and d["error"] == "States.Timeout"
    events = history(sfn, arn)
    assert event_types(events)[-2:] == ["ActivityTimedOut", "ExecutionFailed"]
    assert events[-2]["activityTimedOutEventDetails"]["error"] == "States.Timeout"
    assert expect_error("TaskTimedOut", sfn.send_task_success, taskToken=token, output="{}") == TIMED_OUT
    assert expect_error("TaskTimedOut", sfn.send_task_heartbeat, taskToken=token) == TIMED_OUT


def test_heartbeats_keep_the_task_alive(sfn):
    act, sm = activity_machine(sfn, {"HeartbeatSeconds": 2, "TimeoutSeconds": 30})
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token, _ = poll(sfn, act)
    for _ in range(10):  # 4 s > HeartbeatSeconds, kept alive by heartbeats
        time.sleep(0.4)
        sfn.send_task_heartbeat(taskToken=token)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output="1")
    assert wait_status(sfn, arn)["output"] == "1"


def test_heartbeat_timeout_with_time_scale(server_factory):
    """--time-scale 0.05: HeartbeatSeconds 20 fires after ~1 s; the catcher sees
    States.Timeout."""
    server = server_factory("--time-scale", "0.05")
    sfn = boto_client(server)
    act, sm = activity_machine(sfn, {"HeartbeatSeconds": 20, "TimeoutSeconds": 600}, catch=True)
    arn = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    token, _ = poll(sfn, act)
    t0 = time.monotonic()
    d = wait_status(sfn, arn, timeout=15)
    assert time.monotonic() - t0 < 8
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"])["err"]["Error"] == "States.Timeout"
    assert expect_error("TaskTimedOut", sfn.send_task_success, taskToken=token, output="{}") == TIMED_OUT


def test_retry_after_timeout_gets_a_new_token(sfn):
    act, sm = activity_machine(
        sfn,
        {
            "TimeoutSeconds": 1,
            "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        },
    )
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    first, _ = poll(sfn, act)
    second, _ = poll(sfn, act)  # the retry's task, after the first timed out
    assert second != first
    assert expect_error("TaskTimedOut", sfn.send_task_success, taskToken=first, output="{}") == TIMED_OUT
    sfn.send_task_success(taskToken=second, output='"second"')
    assert wait_status(sfn, arn)["output"] == '"second"'
    assert event_types(history(sfn, arn)).count("ActivityTimedOut") == 1


def test_late_callback_after_stop(sfn):
    act, sm = activity_machine(sfn)
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token, _ = poll(sfn, act)
    sfn.stop_execution(executionArn=arn)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    assert expect_error("TaskTimedOut", sfn.send_task_success, taskToken=token, output="{}") == TIMED_OUT
    assert expect_error("TaskTimedOut", sfn.send_task_failure, taskToken=token, error="E") == TIMED_OUT
    assert expect_error("TaskTimedOut", sfn.send_task_heartbeat, taskToken=token) == TIMED_OUT


def test_long_poll_wakes_when_a_task_arrives(server, sfn):
    act, sm = activity_machine(sfn)
    got = {}
    worker_client = boto_client(server)

    def worker():
        got["task"] = worker_client.get_activity_task(activityArn=act, workerName="early")
        got["at"] = time.monotonic()

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(1.5)
    assert t.is_alive(), got  # the poll is parked: no task exists yet
    started = time.monotonic()
    arn = sfn.start_execution(stateMachineArn=sm, input='{"late": true}')["executionArn"]
    t.join(timeout=30)
    assert not t.is_alive()
    assert json.loads(got["task"]["input"]) == {"late": True}
    assert got["at"] - started < 10
    sfn.send_task_success(taskToken=got["task"]["taskToken"], output="{}")
    assert wait_status(sfn, arn)["status"] == "SUCCEEDED"
    expect_error("ActivityDoesNotExist", sfn.get_activity_task, activityArn=act + "-nope")


def test_many_concurrent_workers(server, sfn):
    act, sm = activity_machine(sfn, task_extra={"ResultPath": "$.r"})
    arns = [sfn.start_execution(stateMachineArn=sm, input=json.dumps({"n": i}))["executionArn"] for i in range(20)]
    errors = []

    def worker(k):
        c = boto_client(server)
        try:
            for _ in range(5):
                tok, inp = poll(c, act, worker=f"w{k}")
                c.send_task_heartbeat(taskToken=tok)
                c.send_task_success(taskToken=tok, output=json.dumps(inp["n"] * 10))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for i, arn in enumerate(arns):
        assert json.loads(wait_status(sfn, arn)["output"]) == {"n": i, "r": i * 10}


# ----- the aws CLI ---------------------------------------------------------


def test_callbacks_cli(sfn, cli):
    act, sm = activity_machine(sfn, catch=True)
    a = sfn.start_execution(stateMachineArn=sm, name="a")["executionArn"]
    # the CLI's default read timeout is 60 s, the poll's own length
    task = cli.ok("get-activity-task", "--activity-arn", act, "--worker-name", "cli", "--cli-read-timeout", "70")
    token = task["taskToken"]
    assert cli.run("send-task-heartbeat", "--task-token", token).code == 0
    assert cli.run("send-task-success", "--task-token", token, "--task-output", '"abc"').code == 0
    assert wait_status(sfn, a)["output"] == '"abc"'
    err = cli.fails("send-task-success", "--task-token", token, "--task-output", "{}")
    assert f"An error occurred (TaskTimedOut) when calling the SendTaskSuccess operation: {TIMED_OUT}" in err, err

    b = sfn.start_execution(stateMachineArn=sm, name="b")["executionArn"]
    token = cli.ok("get-activity-task", "--activity-arn", act, "--cli-read-timeout", "70")["taskToken"]
    err = cli.fails("send-task-success", "--task-token", token, "--task-output", "nope")
    assert "An error occurred (InvalidOutput) when calling the SendTaskSuccess operation" in err, err
    assert cli.run("send-task-failure", "--task-token", token, "--error", "Cli.Err", "--cause", "why").code == 0
    assert json.loads(wait_status(sfn, b)["output"])["err"] == {"Error": "Cli.Err", "Cause": "why"}
    err = cli.fails("send-task-heartbeat", "--task-token", token)
    assert f"An error occurred (TaskTimedOut) when calling the SendTaskHeartbeat operation: {TIMED_OUT}" in err, err
    err = cli.fails("send-task-failure", "--task-token", "forged")
    assert f"An error occurred (InvalidToken) when calling the SendTaskFailure operation: {INVALID}" in err, err


# ----- more of what peers get wrong ---------------------------------------------


def test_concurrent_answers_to_one_token(server, sfn):
    act, sm = activity_machine(sfn)
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token, _ = poll(sfn, act)
    clients = [boto_client(server) for _ in range(8)]
    results = []
    barrier = threading.Barrier(len(clients))

    def answer(c, i):
        barrier.wait()
        try:
            if i % 2:
                c.send_task_success(taskToken=token, output=json.dumps(i))
            else:
                c.send_task_failure(taskToken=token, error=f"E{i}")
            results.append("ok")
        except ClientError as e:
            results.append(e.response["Error"]["Code"])

    threads = [threading.Thread(target=answer, args=(c, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["TaskTimedOut"] * 7 + ["ok"], results
    wait_status(sfn, arn)
    types = event_types(history(sfn, arn))
    assert types.count("ActivitySucceeded") + types.count("ActivityFailed") == 1, types


def test_oversized_fields_are_validation_errors(sfn):
    act, sm = activity_machine(sfn)
    sfn.start_execution(stateMachineArn=sm)
    token, _ = poll(sfn, act)
    msg = expect_error("ValidationException", sfn.send_task_success, taskToken=token, output='"' + "x" * 262143 + '"')
    assert msg == (
        "1 validation error detected: Value at 'output' failed to satisfy constraint: "
        "Member must have length less than or equal to 262144"
    )
    expect_error("ValidationException", sfn.send_task_failure, taskToken=token, error="e" * 257)
    expect_error("ValidationException", sfn.send_task_failure, taskToken=token, cause="c" * 32769)
    # exactly at the limit is fine
    sfn.send_task_success(taskToken=token, output='"' + "x" * 262142 + '"')


def test_heartbeats_do_not_extend_timeout_seconds(sfn):
    act, sm = activity_machine(sfn, {"HeartbeatSeconds": 1, "TimeoutSeconds": 2})
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token, _ = poll(sfn, act)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 6:
        try:
            sfn.send_task_heartbeat(taskToken=token)
        except ClientError as e:
            assert e.response["Error"]["Message"] == TIMED_OUT
            break
        time.sleep(0.3)
    d = wait_status(sfn, arn, timeout=10)
    assert d["status"] == "FAILED" and d["error"] == "States.Timeout"
    assert 1.5 < (d["stopDate"] - d["startDate"]).total_seconds() < 5


def test_parallel_branch_failure_aborts_the_sibling_task(sfn):
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    branch = lambda n: {"StartAt": n, "States": {n: {"Type": "Task", "Resource": act, "End": True}}}  # noqa: E731
    sm = sfn.create_state_machine(
        name=unique("par"),
        roleArn=ROLE,
        definition=json.dumps(
            {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "Branches": [branch("L"), branch("R")], "End": True}}}
        ),
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    t1, _ = poll(sfn, act)
    t2, _ = poll(sfn, act)
    sfn.send_task_failure(taskToken=t1)
    d = wait_status(sfn, arn)
    assert d["status"] == "FAILED"
    types = event_types(history(sfn, arn))
    assert "TaskStateAborted" in types and "ParallelStateFailed" in types, types
    assert expect_error("TaskTimedOut", sfn.send_task_success, taskToken=t2, output="{}") == TIMED_OUT


def test_map_of_activity_tasks(sfn):
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    sm = sfn.create_state_machine(
        name=unique("map"),
        roleArn=ROLE,
        definition=json.dumps(
            {
                "StartAt": "Each",
                "States": {
                    "Each": {
                        "Type": "Map",
                        "ItemsPath": "$.items",
                        "MaxConcurrency": 2,
                        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": True}}},
                        "End": True,
                    }
                },
            }
        ),
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm, input='{"items": [1, 2, 3, 4, 5]}')["executionArn"]
    for _ in range(5):
        token, inp = poll(sfn, act)
        sfn.send_task_success(taskToken=token, output=json.dumps(inp * 100))
    assert json.loads(wait_status(sfn, arn)["output"]) == [100, 200, 300, 400, 500]


def test_execution_timeout_closes_the_token(sfn):
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    sm = sfn.create_state_machine(
        name=unique("exto"),
        roleArn=ROLE,
        definition=json.dumps(
            {"TimeoutSeconds": 1, "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": True}}}
        ),
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token, _ = poll(sfn, act)
    d = wait_status(sfn, arn, timeout=15)
    assert d["status"] == "TIMED_OUT"
    assert event_types(history(sfn, arn))[-1] == "ExecutionTimedOut"
    assert expect_error("TaskTimedOut", sfn.send_task_success, taskToken=token, output="{}") == TIMED_OUT


def test_redrive_after_a_failed_activity(sfn):
    act, sm = activity_machine(sfn)
    arn = sfn.start_execution(stateMachineArn=sm, input='{"k": 1}')["executionArn"]
    token, _ = poll(sfn, act)
    sfn.send_task_failure(taskToken=token, error="Transient")
    assert wait_status(sfn, arn)["status"] == "FAILED"
    sfn.redrive_execution(executionArn=arn)
    token2, inp = poll(sfn, act)
    assert inp == {"k": 1} and token2 != token
    assert expect_error("TaskTimedOut", sfn.send_task_success, taskToken=token, output="{}") == TIMED_OUT
    sfn.send_task_success(taskToken=token2, output='"again"')
    d = wait_status(sfn, arn)
    assert d["status"] == "SUCCEEDED" and d["output"] == '"again"' and d["redriveCount"] == 1
    assert "ExecutionRedriven" in event_types(history(sfn, arn))


@pytest.mark.parametrize("output", [' {"a" : 1,  "b": [ ]} ', "null", "1.50", '"\\u00e9t\\u00e9"', '"été 🚀"'])
def test_success_output_recorded_verbatim(sfn, output):
    act, sm = activity_machine(sfn)
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token, _ = poll(sfn, act)
    sfn.send_task_success(taskToken=token, output=output)
    d = wait_status(sfn, arn)
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"]) == json.loads(output)
    succeeded = [e for e in history(sfn, arn) if e["type"] == "ActivitySucceeded"][0]
    assert succeeded["activitySucceededEventDetails"]["output"] == output


def test_time_scale_zero_skips_waits(server_factory):
    server = server_factory("--time-scale", "0")
    sfn = boto_client(server)
    sm = sfn.create_state_machine(
        name=unique("nap"),
        roleArn=ROLE,
        definition=json.dumps(
            {
                "StartAt": "Long",
                "States": {
                    "Long": {"Type": "Wait", "Seconds": 86400, "Next": "Fail"},
                    "Fail": {"Type": "Fail", "Error": "X"},
                },
            }
        ),
    )["stateMachineArn"]
    t0 = time.monotonic()
    d = wait_status(sfn, sfn.start_execution(stateMachineArn=sm)["executionArn"], timeout=10)
    assert d["status"] == "FAILED" and time.monotonic() - t0 < 5


def test_empty_poll_ends_after_60_seconds(sfn):
    """With no task, GetActivityTask is held 60 s and answers 200 without a
    token: boto3's default read timeout (60 s) is too short for it, hence
    Config(read_timeout=70) here (and --cli-read-timeout 70 for the CLI)."""
    act = sfn.create_activity(name=unique("idle"))["activityArn"]
    t0 = time.monotonic()
    got = sfn.get_activity_task(activityArn=act, workerName="idle")
    waited = time.monotonic() - t0
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert not got.get("taskToken")
    assert 59 <= waited < 66, waited
