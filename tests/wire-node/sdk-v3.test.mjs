// AWS SDK for JavaScript v3 (@aws-sdk/client-*) against a real `baton
// serve`: Step Functions, SQS (JSON protocol), SNS, Lambda, and a Lambda
// function that answers a task token itself (lambda:invoke.waitForTaskToken).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  SFNClient,
  CreateStateMachineCommand,
  StartExecutionCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
} from "@aws-sdk/client-sfn";
import {
  SQSClient,
  CreateQueueCommand,
  SendMessageBatchCommand,
  ReceiveMessageCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
} from "@aws-sdk/client-sqs";
import { SNSClient, CreateTopicCommand, SubscribeCommand, PublishCommand } from "@aws-sdk/client-sns";
import { LambdaClient, InvokeCommand } from "@aws-sdk/client-lambda";
import { startBaton, putFunction, waitFor, unique, REGION, ROLE, credentials } from "./baton.mjs";

let baton, sfn, sqs, sns, lambda;

before(async () => {
  baton = await startBaton();
  const cfg = { endpoint: baton.endpoint, region: REGION, credentials, maxAttempts: 1 };
  sfn = new SFNClient(cfg);
  sqs = new SQSClient(cfg);
  sns = new SNSClient(cfg);
  lambda = new LambdaClient(cfg);
});

after(async () => {
  await baton?.stop();
});

async function finished(executionArn) {
  return waitFor(async () => {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return d.status !== "RUNNING" && d;
  }, `execution ${executionArn}`);
}

test("v3 SQS: batches of ten, sent, received, deleted", async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: unique("v3-q") }));
  const entries = Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body ${i}` }));
  const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
  assert.equal(sent.Successful.length, 10);
  assert.equal(sent.Failed?.length ?? 0, 0);
  const seen = new Set();
  while (seen.size < 10) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
    );
    assert.ok(r.Messages && r.Messages.length > 0, "messages arrive");
    r.Messages.forEach((m) => seen.add(m.Body));
    const del = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: r.Messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    assert.equal(del.Failed?.length ?? 0, 0);
  }
  const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
  assert.equal(a.Attributes.ApproximateNumberOfMessages, "0");
  await assert.rejects(
    sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [] })),
    (e) => e.name === "EmptyBatchRequest",
  );
});

test("v3 SNS to SQS with raw message delivery", async () => {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: unique("v3-t") }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: unique("v3-tq") }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn,
      Protocol: "sqs",
      Endpoint: Attributes.QueueArn,
      Attributes: { RawMessageDelivery: "true" },
    }),
  );
  await sns.send(new PublishCommand({ TopicArn, Message: "raw body" }));
  const m = await waitFor(async () => {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 }));
    return r.Messages && r.Messages[0];
  }, "the raw delivery");
  assert.equal(m.Body, "raw body");
});

test("v3 Lambda: a function answers its own task token (lambda:invoke.waitForTaskToken)", async () => {
  // The function ships no SDK: the runtime provides SDK v3 (as AWS's nodejs20.x
  // does), which finds Baton through AWS_ENDPOINT_URL, set by Baton.
  const fn = unique("v3-cb");
  await putFunction(
    baton,
    fn,
    `const { SFNClient, SendTaskSuccessCommand } = require("@aws-sdk/client-sfn");
const sfn = new SFNClient({});
exports.handler = async (event) => {
  await sfn.send(new SendTaskSuccessCommand({ taskToken: event.token, output: JSON.stringify({ answer: event.q * 2 }) }));
  return { sent: true };
};`,
  );
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({
      name: unique("v3-cb-sm"),
      roleArn: ROLE,
      definition: JSON.stringify({
        StartAt: "Ask",
        States: {
          Ask: {
            Type: "Task",
            Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
            Parameters: { FunctionName: fn, Payload: { "token.$": "$$.Task.Token", "q.$": "$.q" } },
            TimeoutSeconds: 60,
            End: true,
          },
        },
      }),
    }),
  );
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ q: 21 }) }),
  );
  const d = await finished(executionArn);
  assert.equal(d.status, "SUCCEEDED", JSON.stringify(d));
  assert.deepEqual(JSON.parse(d.output), { answer: 42 });
  const h = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
  assert.deepEqual(
    h.events.map((e) => e.type),
    [
      "ExecutionStarted",
      "TaskStateEntered",
      "TaskScheduled",
      "TaskStarted",
      "TaskSubmitted",
      "TaskSucceeded",
      "TaskStateExited",
      "ExecutionSucceeded",
    ],
  );
  const r = await lambda.send(
    new InvokeCommand({ FunctionName: fn, Payload: Buffer.from(JSON.stringify({ token: "forged", q: 1 })) }),
  );
  assert.equal(r.FunctionError, "Unhandled", "a bad token fails the function");
  const err = JSON.parse(Buffer.from(r.Payload).toString());
  assert.equal(err.errorType, "InvalidToken");
});
