"""`baton serve --mock-config FILE`: AWS Step Functions Local's
MockConfigFile. A StartExecution on `stateMachineArn#TestCase` answers Task
states from that test case."""

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from baton_wire import ROLE, REPO, boto_client, event_types, history, wait_status

SUITES = REPO.parent / "shared" / "suites"
LAMBDA_SQS = SUITES / "localstack-stepfunctions/json/local_mocked_service_integrations/mock_config_files/lambda_sqs_integration.json"

ORDER_INPUT = '{"lines":[{"sku":"a","qty":2}]}'


@pytest.fixture
def order_server(server_factory):
    # --time-scale 0: the example's Wait state and retry back-off take no time
    return server_factory("--mock-config", str(REPO / "examples" / "order.mock.json"), "--time-scale", "0")


def create_order(sfn):
    definition = (REPO / "examples" / "order.json").read_text()
    return sfn.create_state_machine(name="order", definition=definition, roleArn=ROLE)["stateMachineArn"]


def test_test_cases_boto3(order_server):
    sfn = boto_client(order_server)
    sm = create_order(sfn)
    happy = sfn.start_execution(stateMachineArn=f"{sm}#HappyPath", input=ORDER_INPUT)["executionArn"]
    assert happy.startswith(sm.replace(":stateMachine:", ":execution:") + ":")
    d = wait_status(sfn, happy)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"])["charge"] == {"receipt": "r-1001"}
    assert d["stateMachineArn"] == sm

    throttled = sfn.start_execution(stateMachineArn=f"{sm}#Throttled", input=ORDER_INPUT)["executionArn"]
    d = wait_status(sfn, throttled)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {
        "lines": [{"sku": "a", "qty": 2}],
        "priced": [{"sku": "a", "total": 2}],
        "charge": {"receipt": "r-1002"},
    }
    types = event_types(history(sfn, throttled))
    assert types.count("TaskFailed") == 1 and types.count("TaskSucceeded") == 1
    failed = [e for e in history(sfn, throttled) if e["type"] == "TaskFailed"][0]["taskFailedEventDetails"]
    assert failed["error"] == "Lambda.TooManyRequestsException" and failed["cause"] == "Rate exceeded"

    # an unknown test case is refused at StartExecution
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=f"{sm}#NoSuchCase", input=ORDER_INPUT)
    assert "NoSuchCase" in info.value.response["Error"]["Message"], info.value.response


def test_test_cases_cli(order_server, cli_factory):
    sfn = boto_client(order_server)
    sm = create_order(sfn)
    cli = cli_factory(order_server)
    arn = cli.ok("start-execution", "--state-machine-arn", f"{sm}#HappyPath", "--input", ORDER_INPUT)["executionArn"]
    wait_status(sfn, arn)
    d = cli.ok("describe-execution", "--execution-arn", arn)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"])["charge"] == {"receipt": "r-1001"}


@pytest.mark.skipif(not LAMBDA_SQS.exists(), reason="the shared suites folder is absent")
def test_localstack_mock_config_file(server_factory):
    """LocalStack's recorded MockConfigFile, used as it is (read from ../shared)."""
    server = server_factory("--mock-config", str(LAMBDA_SQS), "--time-scale", "0")
    sfn = boto_client(server)
    definition = {
        "StartAt": "LambdaState",
        "States": {
            "LambdaState": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "ResultSelector": {"body.$": "$.Payload.body"},
                "ResultPath": "$.lambda",
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 5}],
                "Next": "SQSState",
            },
            "SQSState": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "http://q", "MessageBody.$": "$.lambda.body"},
                "ResultSelector": {"id.$": "$.MessageId"},
                "ResultPath": "$.sqs",
                "End": True,
            },
        },
    }
    sm = sfn.create_state_machine(name="LambdaSQSIntegration", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    config = json.loads(Path(LAMBDA_SQS).read_text())
    sqs_id = config["MockedResponses"]["MockedSQSSuccess"]["0"]["Return"]["MessageId"]
    for case in ["HappyPath", "RetryPath"]:
        arn = sfn.start_execution(stateMachineArn=f"{sm}#{case}", input="{}")["executionArn"]
        d = wait_status(sfn, arn)
        assert d["status"] == "SUCCEEDED", (case, d)
        out = json.loads(d["output"])
        assert out["lambda"] == {"body": "Hello from Lambda!"} and out["sqs"] == {"id": sqs_id}, (case, out)
    retried = event_types(history(sfn, arn))
    assert retried.count("TaskFailed") >= 1
