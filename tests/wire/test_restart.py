"""A restart in the middle: executions wait on activity tokens (handed out
or still queued), a Wait timer and a task timeout are pending; `baton
serve` is stopped (SIGTERM, graceful; or SIGKILL) and started again on the
same data directory; the tokens handed out before are answered and the
executions finish, with consecutive history ids."""

import json
import signal

import pytest
from botocore.exceptions import ClientError

from baton_wire import ROLE, boto_client, event_types, history, unique, wait_status

TIMED_OUT = "Task Timed Out: 'Provided task does not exist anymore'"


def setup_load(sfn):
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    work = sfn.create_state_machine(
        name=unique("work"),
        roleArn=ROLE,
        definition=json.dumps(
            {
                "StartAt": "Work",
                "States": {
                    "Work": {"Type": "Task", "Resource": act, "ResultPath": "$.r", "Next": "After"},
                    "After": {"Type": "Pass", "Parameters": {"n.$": "$.n", "r.$": "$.r"}, "End": True},
                },
            }
        ),
    )["stateMachineArn"]
    nap = sfn.create_state_machine(
        name=unique("nap"),
        roleArn=ROLE,
        definition=json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "End": True}}}),
    )["stateMachineArn"]
    timeout = sfn.create_state_machine(
        name=unique("timeout"),
        roleArn=ROLE,
        definition=json.dumps(
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "TimeoutSeconds": 3, "End": True}}}
        ),
    )["stateMachineArn"]
    return act, work, nap, timeout


def run_restart(server, sig):
    sfn = boto_client(server)
    act, work, nap, timeout = setup_load(sfn)
    handed = {}
    for i in range(6):
        arn = sfn.start_execution(stateMachineArn=work, name=f"w{i}", input=json.dumps({"n": i}))["executionArn"]
        task = sfn.get_activity_task(activityArn=act, workerName="before")
        handed[arn] = task["taskToken"]
        assert json.loads(task["input"]) == {"n": i}
    # queued, not handed out yet: delivered by the restarted server
    queued = [
        sfn.start_execution(stateMachineArn=work, name=f"q{i}", input=json.dumps({"n": 100 + i}))["executionArn"]
        for i in range(3)
    ]
    napping = sfn.start_execution(stateMachineArn=nap)["executionArn"]
    timing_out = sfn.start_execution(stateMachineArn=timeout, input='{"n": -1}')["executionArn"]
    # answer one before the restart
    first = next(iter(handed))
    sfn.send_task_success(taskToken=handed.pop(first), output='"before"')
    wait_status(sfn, first)

    code = server.restart(sig)
    if sig == signal.SIGTERM:
        assert code == 0, f"graceful shutdown exited {code}:\n{server.log_tail()}"

    sfn = boto_client(server)
    for arn in handed:
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    for arn, token in handed.items():
        sfn.send_task_heartbeat(taskToken=token)
        sfn.send_task_success(taskToken=token, output='"after"')
    for arn in handed:
        d = wait_status(sfn, arn)
        assert d["status"] == "SUCCEEDED", d
        assert json.loads(d["output"])["r"] == "after"
        with pytest.raises(ClientError) as info:
            sfn.send_task_success(taskToken=handed[arn], output="{}")
        assert info.value.response["Error"]["Message"] == TIMED_OUT

    # the queued tasks (and the timeout task, if it has not timed out yet) come to a poller now
    answered = set()
    while len(answered) < len(queued):
        task = sfn.get_activity_task(activityArn=act, workerName="after")
        assert task.get("taskToken"), f"a queued task was lost in the restart; answered {answered}"
        inp = json.loads(task["input"])
        if inp["n"] < 0:
            continue  # the timeout machine's task: left to time out
        sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps(inp["n"]))
        answered.add(inp["n"])
    for i, arn in enumerate(queued):
        assert json.loads(wait_status(sfn, arn)["output"]) == {"n": 100 + i, "r": 100 + i}

    assert wait_status(sfn, napping)["status"] == "SUCCEEDED"
    t = wait_status(sfn, timing_out)
    assert t["status"] == "FAILED" and t["error"] == "States.Timeout"

    for arn in [first, *handed, *queued, napping, timing_out]:
        events = history(sfn, arn)
        assert [e["id"] for e in events] == list(range(1, len(events) + 1)), event_types(events)
        types = event_types(events)
        assert types.count("ExecutionStarted") == 1
        assert len([t for t in types if t.startswith("Execution")]) == 2, types
    return sfn


def test_restart_sigterm(server):
    run_restart(server, signal.SIGTERM)


def test_restart_sigkill(server):
    run_restart(server, signal.SIGKILL)


def test_definitions_and_tokens_survive_two_restarts(server):
    sfn = boto_client(server)
    act, work, _, _ = setup_load(sfn)
    arn = sfn.start_execution(stateMachineArn=work, input='{"n": 9}')["executionArn"]
    token = sfn.get_activity_task(activityArn=act)["taskToken"]
    server.restart(signal.SIGKILL)
    server.restart(signal.SIGTERM)
    sfn = boto_client(server)
    assert sfn.describe_state_machine(stateMachineArn=work)["name"] == work.split(":")[-1]
    assert [a["activityArn"] for a in sfn.list_activities()["activities"]] == [act]
    sfn.send_task_success(taskToken=token, output="9")
    assert json.loads(wait_status(sfn, arn)["output"]) == {"n": 9, "r": 9}


def nested_setup(sfn, resource, extra_input):
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    child = sfn.create_state_machine(
        name=unique("child"),
        roleArn=ROLE,
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": act, "End": True}}}),
    )["stateMachineArn"]
    parent = sfn.create_state_machine(
        name=unique("parent"),
        roleArn=ROLE,
        definition=json.dumps(
            {
                "StartAt": "Run",
                "States": {
                    "Run": {
                        "Type": "Task",
                        "Resource": resource,
                        "Parameters": {"StateMachineArn": child, "Input": {"v.$": "$.v", **extra_input}},
                        "End": True,
                    }
                },
            }
        ),
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=parent, input='{"v": 1}')["executionArn"]
    task = sfn.get_activity_task(activityArn=act, workerName="before")
    return arn, child, task["taskToken"], json.loads(task["input"])


SIGNALS = pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])


@SIGNALS
def test_sync_parent_across_a_restart(server, sig):
    """A .sync:2 parent whose child waits on an activity; the child is
    answered after the restart and the parent must see it finish."""
    sfn = boto_client(server)
    arn, _, token, _ = nested_setup(sfn, "arn:aws:states:::states:startExecution.sync:2", {})
    server.restart(sig)
    sfn = boto_client(server)
    sfn.send_task_success(taskToken=token, output='{"child": "done"}')
    assert json.loads(wait_status(sfn, arn, timeout=10)["output"])["Output"] == {"child": "done"}


@SIGNALS
def test_sync_child_finishing_before_restart(server, sig):
    """The child finishes and the parent goes on before the restart: nothing
    is replayed after it."""
    sfn = boto_client(server)
    arn, _, token, _ = nested_setup(sfn, "arn:aws:states:::states:startExecution.sync:2", {})
    sfn.send_task_success(taskToken=token, output='{"child": "done"}')
    wait_status(sfn, arn)
    server.restart(sig)
    sfn = boto_client(server)
    assert json.loads(sfn.describe_execution(executionArn=arn)["output"])["Output"] == {"child": "done"}
    assert event_types(history(sfn, arn)).count("TaskSucceeded") == 1


@SIGNALS
def test_wait_for_task_token_parent_across_a_restart(server, sig):
    """A .waitForTaskToken parent whose token sits in a waiting child's input
    is answered after the restart."""
    sfn = boto_client(server)
    arn, _, child_token, child_input = nested_setup(
        sfn, "arn:aws:states:::states:startExecution.waitForTaskToken", {"token.$": "$$.Task.Token"}
    )
    server.restart(sig)
    sfn = boto_client(server)
    sfn.send_task_success(taskToken=child_input["token"], output='"parent answered"')
    assert wait_status(sfn, arn)["output"] == '"parent answered"'
    sfn.send_task_success(taskToken=child_token, output="{}")


def test_graceful_shutdown_with_a_poll_in_flight(server):
    """SIGTERM while a worker's GetActivityTask is parked: the server stops
    without waiting out the 60 s poll (today it drains open requests for 10 s,
    then cuts them), the parked poll gets no task, and a task scheduled after
    the restart reaches a new poll."""
    sfn = boto_client(server)
    act, work, _, _ = setup_load(sfn)
    outcome = {}

    def parked():
        try:
            outcome["task"] = boto_client(server).get_activity_task(activityArn=act, workerName="parked")
        except Exception as e:  # the connection is cut by the shutdown
            outcome["error"] = type(e).__name__

    import threading
    import time

    t = threading.Thread(target=parked)
    t.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 15, "graceful shutdown waited out the parked poll"
    t.join(timeout=70)
    assert not outcome.get("task", {}).get("taskToken"), outcome
    server.start()
    sfn = boto_client(server)
    arn = sfn.start_execution(stateMachineArn=work, input='{"n": 1}')["executionArn"]
    task = sfn.get_activity_task(activityArn=act, workerName="after")
    sfn.send_task_success(taskToken=task["taskToken"], output="5")
    assert json.loads(wait_status(sfn, arn)["output"]) == {"n": 1, "r": 5}


def test_heartbeat_timer_across_a_restart(server):
    sfn = boto_client(server)
    act = sfn.create_activity(name=unique("act"))["activityArn"]
    sm = sfn.create_state_machine(
        name=unique("hb"),
        roleArn=ROLE,
        definition=json.dumps(
            {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "HeartbeatSeconds": 2, "End": True}}}
        ),
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=sm)["executionArn"]
    token = sfn.get_activity_task(activityArn=act)["taskToken"]
    server.restart(signal.SIGKILL)
    sfn = boto_client(server)
    d = wait_status(sfn, arn, timeout=15)
    assert d["status"] == "FAILED" and d["error"] == "States.Timeout"
    with pytest.raises(ClientError) as info:
        sfn.send_task_heartbeat(taskToken=token)
    assert info.value.response["Error"]["Message"] == TIMED_OUT


def test_sigkill_during_a_stream_of_callbacks(server):
    """Callbacks acknowledged with 200 before a SIGKILL are durable; callbacks
    cut by the kill are sent again after the restart and get 200 or, when the
    first one had in fact been committed, TaskTimedOut. Every execution ends
    once, with its own output."""
    import threading
    import time

    sfn = boto_client(server)
    act, work, _, _ = setup_load(sfn)
    tokens = {}
    for i in range(40):
        arn = sfn.start_execution(stateMachineArn=work, name=f"e{i}", input=json.dumps({"n": i}))["executionArn"]
        tokens[arn] = (i, sfn.get_activity_task(activityArn=act, workerName="w")["taskToken"])
    acked, unsure = set(), set()
    lock = threading.Lock()

    def answer(items):
        c = boto_client(server, connect_timeout=1, read_timeout=5)
        for arn, (i, tok) in items:
            try:
                c.send_task_success(taskToken=tok, output=json.dumps(i * 2))
                with lock:
                    acked.add(arn)
            except Exception:
                with lock:
                    unsure.add(arn)

    items = list(tokens.items())
    threads = [threading.Thread(target=answer, args=(items[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    while len(acked) < 10:
        time.sleep(0.005)
    server.stop(signal.SIGKILL)
    for t in threads:
        t.join(timeout=60)
    server.start()
    sfn = boto_client(server)
    for arn in sorted(unsure):
        i, tok = tokens[arn]
        try:
            sfn.send_task_success(taskToken=tok, output=json.dumps(i * 2))
        except ClientError as e:
            assert e.response["Error"]["Message"] == TIMED_OUT, e.response
    print(f"acknowledged before the kill: {len(acked)}, cut: {len(unsure)}")
    assert len(acked) + len(unsure) == len(tokens)
    for arn, (i, _) in tokens.items():
        d = wait_status(sfn, arn)
        assert d["status"] == "SUCCEEDED", (arn, d)
        assert json.loads(d["output"]) == {"n": i, "r": i * 2}
        types = event_types(history(sfn, arn))
        assert types.count("ActivitySucceeded") == 1 and types.count("ExecutionSucceeded") == 1, types
