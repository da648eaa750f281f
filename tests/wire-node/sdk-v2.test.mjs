// aws-sdk for JavaScript v2 (2.1693.0, what the seed's handler uses) against
// a real `baton serve`: Step Functions, SQS (v2 sends SQS calls to the
// QueueUrl's host), SNS and Lambda, and the callback pattern end to end.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startBaton, putFunction, waitFor, unique, REGION, ROLE, credentials } from "./baton.mjs";

const require = createRequire(import.meta.url);
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
const AWS = require("aws-sdk");

let baton, sfn, sqs, sns, lambda;

before(async () => {
  baton = await startBaton();
  const cfg = { endpoint: baton.endpoint, region: REGION, credentials, maxRetries: 0 };
  sfn = new AWS.StepFunctions(cfg);
  sqs = new AWS.SQS(cfg);
  sns = new AWS.SNS(cfg);
  lambda = new AWS.Lambda(cfg);
});

after(async () => {
  await baton?.stop();
});

async function finished(arn) {
  return waitFor(async () => {
    const d = await sfn.describeExecution({ executionArn: arn }).promise();
    return d.status !== "RUNNING" && d;
  }, `execution ${arn}`);
}

test("v2 Step Functions: create, start, describe, history", async () => {
  const { stateMachineArn } = await sfn
    .createStateMachine({
      name: unique("v2-pass"),
      roleArn: ROLE,
      definition: JSON.stringify({ StartAt: "P", States: { P: { Type: "Pass", Result: { ok: 1 }, End: true } } }),
    })
    .promise();
  const { executionArn, startDate } = await sfn.startExecution({ stateMachineArn, input: "{}" }).promise();
  assert.ok(startDate instanceof Date);
  const d = await finished(executionArn);
  assert.equal(d.status, "SUCCEEDED");
  assert.deepEqual(JSON.parse(d.output), { ok: 1 });
  const h = await sfn.getExecutionHistory({ executionArn }).promise();
  assert.deepEqual(
    h.events.map((e) => e.type),
    ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"],
  );
});

test("v2 Step Functions: bad input gets AWS's error", async () => {
  await assert.rejects(
    sfn.describeExecution({ executionArn: "arn:aws:states:us-east-1:000000000000:execution:nope:x" }).promise(),
    (e) => e.code === "ExecutionDoesNotExist" && e.statusCode === 400,
  );
  await assert.rejects(
    sfn.sendTaskSuccess({ taskToken: "not-a-token", output: "{}" }).promise(),
    (e) => e.code === "InvalidToken",
  );
});

test("v2 activity callback: GetActivityTask then SendTaskSuccess", async () => {
  const { activityArn } = await sfn.createActivity({ name: unique("v2-act") }).promise();
  const { stateMachineArn } = await sfn
    .createStateMachine({
      name: unique("v2-act-sm"),
      roleArn: ROLE,
      definition: JSON.stringify({ StartAt: "W", States: { W: { Type: "Task", Resource: activityArn, End: true } } }),
    })
    .promise();
  const { executionArn } = await sfn.startExecution({ stateMachineArn, input: '{"job":1}' }).promise();
  const task = await sfn.getActivityTask({ activityArn, workerName: "v2" }).promise();
  assert.deepEqual(JSON.parse(task.input), { job: 1 });
  await sfn.sendTaskSuccess({ taskToken: task.taskToken, output: '"done"' }).promise();
  const d = await finished(executionArn);
  assert.equal(d.status, "SUCCEEDED");
  assert.equal(d.output, '"done"');
});

test("v2 SQS: queue URL points at Baton; send (checked MD5s), receive, delete", async () => {
  const { QueueUrl } = await sqs.createQueue({ QueueName: unique("v2-q") }).promise();
  assert.ok(QueueUrl.startsWith(baton.endpoint + "/"), QueueUrl);
  const sent = await sqs
    .sendMessage({
      QueueUrl,
      MessageBody: "héllo",
      MessageAttributes: {
        color: { DataType: "String", StringValue: "blue" },
        n: { DataType: "Number", StringValue: "7" },
        raw: { DataType: "Binary", BinaryValue: Buffer.from([1, 2, 3]) },
      },
    })
    .promise();
  assert.ok(sent.MessageId);
  const got = await sqs
    .receiveMessage({ QueueUrl, WaitTimeSeconds: 5, MessageAttributeNames: ["All"], AttributeNames: ["All"] })
    .promise();
  assert.equal(got.Messages.length, 1);
  const m = got.Messages[0];
  assert.equal(m.Body, "héllo");
  assert.equal(m.MessageAttributes.color.StringValue, "blue");
  assert.deepEqual([...m.MessageAttributes.raw.BinaryValue], [1, 2, 3]);
  assert.equal(m.Attributes.ApproximateReceiveCount, "1");
  await sqs.deleteMessage({ QueueUrl, ReceiptHandle: m.ReceiptHandle }).promise();
  const a = await sqs.getQueueAttributes({ QueueUrl, AttributeNames: ["All"] }).promise();
  assert.equal(a.Attributes.ApproximateNumberOfMessages, "0");
  assert.equal(a.Attributes.ApproximateNumberOfMessagesNotVisible, "0");
  await assert.rejects(
    sqs.getQueueUrl({ QueueName: "no-such-queue-v2" }).promise(),
    (e) => e.code === "AWS.SimpleQueueService.NonExistentQueue" || e.code === "QueueDoesNotExist",
  );
});

test("v2 SNS: publish reaches a subscribed queue in AWS's envelope", async () => {
  const { TopicArn } = await sns.createTopic({ Name: unique("v2-t") }).promise();
  const { QueueUrl } = await sqs.createQueue({ QueueName: unique("v2-tq") }).promise();
  const { Attributes } = await sqs.getQueueAttributes({ QueueUrl, AttributeNames: ["QueueArn"] }).promise();
  await sns.subscribe({ TopicArn, Protocol: "sqs", Endpoint: Attributes.QueueArn }).promise();
  const { MessageId } = await sns
    .publish({
      TopicArn,
      Message: "hi",
      Subject: "s",
      MessageAttributes: { k: { DataType: "String", StringValue: "v" } },
    })
    .promise();
  const got = await waitFor(async () => {
    const r = await sqs.receiveMessage({ QueueUrl, WaitTimeSeconds: 2 }).promise();
    return r.Messages && r.Messages[0];
  }, "the SNS delivery");
  const env = JSON.parse(got.Body);
  assert.equal(env.Type, "Notification");
  assert.equal(env.MessageId, MessageId);
  assert.equal(env.TopicArn, TopicArn);
  assert.equal(env.Message, "hi");
  assert.equal(env.Subject, "s");
  assert.deepEqual(env.MessageAttributes, { k: { Type: "String", Value: "v" } });
});

test("v2 Lambda: invoke a Node.js function, and a failing one", async () => {
  const ok = unique("v2-fn");
  await putFunction(baton, ok, "exports.handler = async (e) => ({ twice: e.n * 2 });");
  const r = await lambda.invoke({ FunctionName: ok, Payload: JSON.stringify({ n: 21 }) }).promise();
  assert.equal(r.StatusCode, 200);
  assert.equal(r.FunctionError, undefined);
  assert.deepEqual(JSON.parse(r.Payload.toString()), { twice: 42 });
  const bad = unique("v2-bad");
  await putFunction(
    baton,
    bad,
    "class Oops extends Error { constructor(m) { super(m); this.name = 'Oops'; } }\nexports.handler = async () => { throw new Oops('nope'); };",
  );
  const f = await lambda.invoke({ FunctionName: bad, Payload: "{}" }).promise();
  assert.equal(f.FunctionError, "Unhandled");
  const err = JSON.parse(f.Payload.toString());
  assert.equal(err.errorType, "Oops");
  assert.equal(err.errorMessage, "nope");
  await assert.rejects(
    lambda.invoke({ FunctionName: "no-such-function", Payload: "{}" }).promise(),
    (e) => e.code === "ResourceNotFoundException" && e.statusCode === 404,
  );
});

test("v2 callback pattern: sqs:sendMessage.waitForTaskToken answered by a consumer", async () => {
  const { QueueUrl } = await sqs.createQueue({ QueueName: unique("v2-cb") }).promise();
  const { stateMachineArn } = await sfn
    .createStateMachine({
      name: unique("v2-cb-sm"),
      roleArn: ROLE,
      definition: JSON.stringify({
        StartAt: "Send",
        States: {
          Send: {
            Type: "Task",
            Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            Parameters: { QueueUrl, MessageBody: { "Token.$": "$$.Task.Token", "n.$": "$.n" } },
            End: true,
          },
        },
      }),
    })
    .promise();
  const { executionArn } = await sfn.startExecution({ stateMachineArn, input: '{"n":5}' }).promise();
  const r = await sqs.receiveMessage({ QueueUrl, WaitTimeSeconds: 10 }).promise();
  const body = JSON.parse(r.Messages[0].Body);
  assert.equal(body.n, 5);
  await sfn.sendTaskSuccess({ taskToken: body.Token, output: JSON.stringify({ got: body.n }) }).promise();
  const d = await finished(executionArn);
  assert.equal(d.status, "SUCCEEDED");
  assert.deepEqual(JSON.parse(d.output), { got: 5 });
  const h = await sfn.getExecutionHistory({ executionArn }).promise();
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
  const submitted = JSON.parse(h.events[4].taskSubmittedEventDetails.output);
  assert.ok(submitted.MessageId && submitted.MD5OfMessageBody && submitted.SdkHttpMetadata);
});

test("v2 lambda:invoke: a function that times out fails the task as Lambda.Unknown", async () => {
  const fn = unique("v2-slow");
  await putFunction(baton, fn, "exports.handler = () => new Promise((r) => setTimeout(r, 5000));", "index.handler", {}, 1);
  const { stateMachineArn } = await sfn
    .createStateMachine({
      name: unique("v2-slow-sm"),
      roleArn: ROLE,
      definition: JSON.stringify({
        StartAt: "Call",
        States: {
          Call: {
            Type: "Task",
            Resource: "arn:aws:states:::lambda:invoke",
            Parameters: { FunctionName: fn, Payload: {} },
            End: true,
          },
        },
      }),
    })
    .promise();
  const { executionArn } = await sfn.startExecution({ stateMachineArn, input: "{}" }).promise();
  const d = await finished(executionArn);
  assert.equal(d.status, "FAILED");
  assert.equal(d.error, "Lambda.Unknown");
  assert.match(d.cause, /Task timed out after 1\.00 seconds/);
});
