"""StartSyncExecution on an EXPRESS machine.

AWS SDKs send StartSyncExecution to the host `sync-<endpoint host>` (the
operation's `hostPrefix` in the service model). Against a local endpoint
that host (`sync-127.0.0.1`) does not resolve, so users set
`AWS_DISABLE_HOST_PREFIX_INJECTION=true` (boto3 and the aws CLI) or
`Config(inject_host_prefix=False)` in code; Baton answers on any host.
"""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from baton_wire import ROLE, boto_client, unique

EXPRESS = json.dumps(
    {
        "StartAt": "Double",
        "States": {
            "Double": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($.n, $.n)"}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.v", "NumericGreaterThan": 100, "Next": "TooBig"}],
                "Default": "Done",
            },
            "TooBig": {"Type": "Fail", "Error": "TooBig", "Cause": "over 100"},
            "Done": {"Type": "Succeed"},
        },
    }
)


class Sent(Exception):
    pass


def test_without_the_setting_boto3_targets_the_sync_host(server):
    """Documents the problem without a DNS lookup: the request is caught
    before it is sent."""
    sfn = boto_client(server)
    seen = []

    def capture(request, **_):
        seen.append(request.url)
        raise Sent()

    sfn.meta.events.register("before-send.sfn.StartSyncExecution", capture)
    with pytest.raises(Sent):
        sfn.start_sync_execution(stateMachineArn="arn:aws:states:us-east-1:000000000000:stateMachine:x")
    assert seen == [f"http://sync-127.0.0.1:{server.port}/"]


def test_start_sync_execution_boto3(server, monkeypatch):
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    sfn = boto_client(server)
    sm = sfn.create_state_machine(name=unique("express"), definition=EXPRESS, roleArn=ROLE, type="EXPRESS")
    arn = sm["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["type"] == "EXPRESS"

    ok = sfn.start_sync_execution(stateMachineArn=arn, name="n21", input='{"n": 21}')
    assert ok["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert ok["status"] == "SUCCEEDED"
    assert json.loads(ok["output"]) == {"v": 42}
    assert json.loads(ok["input"]) == {"n": 21}
    assert ok["name"] == "n21" and ok["stateMachineArn"] == arn
    assert ":express:" in ok["executionArn"]
    assert isinstance(ok["startDate"], datetime.datetime) and isinstance(ok["stopDate"], datetime.datetime)
    assert set(ok["billingDetails"]) == {"billedMemoryUsedInMB", "billedDurationInMilliseconds"}

    # a failed execution is still HTTP 200
    bad = sfn.start_sync_execution(stateMachineArn=arn, input='{"n": 60}')
    assert bad["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert bad["status"] == "FAILED" and bad["error"] == "TooBig" and bad["cause"] == "over 100"
    assert "output" not in bad

    standard = sfn.create_state_machine(name=unique("std"), definition=EXPRESS, roleArn=ROLE)["stateMachineArn"]
    with pytest.raises(ClientError) as info:
        sfn.start_sync_execution(stateMachineArn=standard, input='{"n": 1}')
    assert info.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


def test_start_sync_execution_cli(server, sfn, cli):
    arn = sfn.create_state_machine(name=unique("express"), definition=EXPRESS, roleArn=ROLE, type="EXPRESS")[
        "stateMachineArn"
    ]
    env = {"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}
    out = cli.ok("start-sync-execution", "--state-machine-arn", arn, "--input", '{"n": 5}', env=env)
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"v": 10}
    out = cli.ok("start-sync-execution", "--state-machine-arn", arn, "--input", '{"n": 500}', env=env)
    assert out["status"] == "FAILED" and out["error"] == "TooBig"
