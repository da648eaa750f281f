'use strict';

// Each handler finds the task token where the state machine put it and hands
// the answer back with SendTaskSuccess. Under Baton the SDK is pointed at
// Baton (AWS_ENDPOINT_URL); on AWS it talks to Step Functions.
const { SFNClient, SendTaskSuccessCommand } = require('@aws-sdk/client-sfn');

const sfn = new SFNClient({});

async function approve(request) {
  const answer = {
    channel: request.channel,
    order: request.order === undefined ? null : request.order,
    approvedBy: process.env.APPROVER,
  };
  await sfn.send(
    new SendTaskSuccessCommand({ taskToken: request.token, output: JSON.stringify(answer) }),
  );
  return answer;
}

// SQS event source: one record per invocation (batchSize: 1).
module.exports.approveFromQueue = async (event) => {
  const answers = [];
  for (const record of event.Records) {
    answers.push(await approve(JSON.parse(record.body)));
  }
  return answers;
};

// Invoked by the state machine with the token in the payload.
module.exports.approveDirectly = async (event) => approve(event);

// SNS subscription: the message is the JSON the state machine published.
module.exports.approveFromTopic = async (event) => {
  const answers = [];
  for (const record of event.Records) {
    answers.push(await approve(JSON.parse(record.Sns.Message)));
  }
  return answers;
};
