// Baton's Node.js runtime: a Lambda Runtime API client that loads the
// handler named by _HANDLER from LAMBDA_TASK_ROOT and runs one invocation at
// a time, as AWS's nodejs runtimes do (async and callback handlers, the
// context object, error shapes, console lines with the request id).
'use strict';

const http = require('http');
const path = require('path');
const fs = require('fs');
const url = require('url');
const util = require('util');

const env = process.env;
const [API_HOST, API_PORT] = (() => {
  const api = env.AWS_LAMBDA_RUNTIME_API || '';
  const i = api.lastIndexOf(':');
  return [api.slice(0, i), Number(api.slice(i + 1))];
})();
const BASE = '/2018-06-01/runtime';
const SYNC = '\x1fbaton-sync ';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const stdoutWrite = process.stdout.write.bind(process.stdout);
const stderrWrite = process.stderr.write.bind(process.stderr);

let currentId; // the request id console lines carry
let inFlight = null; // { id, finish } of the running invocation
let emptyLoopWaiter = null;

function api(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        host: API_HOST,
        port: API_PORT,
        method,
        path: BASE + p,
        agent,
        headers: Object.assign({ 'Content-Length': data ? data.length : 0 }, headers || {}),
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// The Runtime API is gone (Baton stopped): nothing left to do.
function apiLost(err) {
  stderrWrite(`baton runtime: the Runtime API is unreachable (${err && err.message}); exiting\n`);
  process.exit(1);
}

// ----- console: `<time>\t<request id>\t<LEVEL>\t<message>` as Lambda writes it
function patchConsole() {
  const line = (level) =>
    function (...args) {
      const msg = util.format(...args);
      stdoutWrite(`${new Date().toISOString()}\t${currentId}\t${level}\t${msg}\n`);
    };
  console.log = line('INFO');
  console.info = line('INFO');
  console.warn = line('WARN');
  console.error = line('ERROR');
  console.debug = line('DEBUG');
  console.trace = function (...args) {
    const err = { name: 'Trace', message: util.format(...args) };
    Error.captureStackTrace(err, console.trace);
    stdoutWrite(`${new Date().toISOString()}\t${currentId}\tTRACE\t${err.stack}\n`);
  };
  console.fatal = line('FATAL');
}

// ----- errors as the runtime reports them
function isError(e) {
  return util.types.isNativeError(e) || (e && typeof e === 'object' && typeof e.name === 'string' && typeof e.message === 'string' && typeof e.stack === 'string');
}

function toRapidResponse(error) {
  try {
    if (isError(error)) {
      return {
        errorType: String(error.name),
        errorMessage: String(error.message),
        trace: String(error.stack).split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: JSON.stringify(error), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

class RuntimeError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

// ----- the AWS SDK the handler gets, pointed at Baton
function configureSdk(fromDir) {
  const endpoint = env.AWS_ENDPOINT_URL;
  if (!endpoint) return;
  let resolved;
  try {
    resolved = require.resolve('aws-sdk', { paths: [fromDir] });
  } catch (_) {
    return; // no aws-sdk v2 reachable: SDK v3 reads AWS_ENDPOINT_URL itself
  }
  try {
    const AWS = require(resolved);
    AWS.config.update({
      endpoint,
      region: env.AWS_REGION,
      sslEnabled: endpoint.startsWith('https:'),
      s3ForcePathStyle: true,
      credentials: new AWS.Credentials(env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN),
    });
  } catch (e) {
    stderrWrite(`baton runtime: cannot point aws-sdk at ${endpoint}: ${e && e.message}\n`);
  }
}

// ----- the handler
function isFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch (_) {
    return false;
  }
}

async function loadModule(modulePath, moduleName) {
  if (isFile(modulePath + '.mjs')) return import(url.pathToFileURL(modulePath + '.mjs').href);
  if (isFile(modulePath + '.cjs')) return require(modulePath + '.cjs');
  if (isFile(modulePath + '.js')) {
    try {
      return require(modulePath + '.js');
    } catch (e) {
      if (e && e.code === 'ERR_REQUIRE_ESM') return import(url.pathToFileURL(modulePath + '.js').href);
      throw e;
    }
  }
  try {
    return require(modulePath);
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${modulePath}'`)) {
      throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'\nRequire stack:\n- ${__filename}`);
    }
    throw e;
  }
}

async function loadHandler() {
  const root = env.LAMBDA_TASK_ROOT;
  const full = env._HANDLER || '';
  const base = path.basename(full);
  const moduleRoot = full.substring(0, full.length - base.length);
  const m = base.match(/^([^.]*)\.(.*)$/);
  if (!m) throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  const [, moduleName, handlerPath] = m;
  const modulePath = path.resolve(root, moduleRoot, moduleName);
  configureSdk(path.dirname(modulePath));
  let mod;
  try {
    mod = await loadModule(modulePath, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new RuntimeError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`);
    }
    if (e && e.code === 'MODULE_NOT_FOUND') {
      throw new RuntimeError('Runtime.ImportModuleError', `Error: ${e.message}`);
    }
    throw e;
  }
  let fn = mod;
  for (const part of handlerPath.split('.')) {
    fn = fn === undefined || fn === null ? undefined : fn[part];
  }
  if (fn === undefined || fn === null) {
    throw new RuntimeError('Runtime.HandlerNotFound', `${full} is undefined or not exported`);
  }
  if (typeof fn !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${full} is not a function`);
  }
  return fn;
}

// ----- one invocation
function makeContext(id, headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const ctx = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: id,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
  const cc = headers['lambda-runtime-client-context'];
  if (cc) {
    try {
      ctx.clientContext = JSON.parse(cc);
    } catch (_) {}
  }
  const ci = headers['lambda-runtime-cognito-identity'];
  if (ci) {
    try {
      const o = JSON.parse(ci);
      ctx.identity = { cognitoIdentityId: o.cognitoIdentityId, cognitoIdentityPoolId: o.cognitoIdentityPoolId };
    } catch (_) {}
  }
  return ctx;
}

function runHandler(handler, event, context) {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      emptyLoopWaiter = null;
      resolve(err !== undefined && err !== null ? { ok: false, error: err } : { ok: true, value });
    };
    inFlight = { finish };
    // Callback style: the answer goes once the event loop is empty, unless
    // callbackWaitsForEmptyEventLoop is turned off.
    const callback = (err, value) => {
      if (settled) return;
      if (context.callbackWaitsForEmptyEventLoop) {
        emptyLoopWaiter = () => finish(err, value);
      } else {
        finish(err, value);
      }
    };
    context.done = callback;
    context.succeed = (value) => callback(null, value);
    context.fail = (err) => callback(err === undefined || err === null ? 'handled' : err);
    let result;
    try {
      result = handler(event, context, callback);
    } catch (e) {
      finish(e === undefined || e === null ? new Error(String(e)) : e);
      return;
    }
    if (result && typeof result.then === 'function') {
      result.then(
        (v) => finish(null, v),
        (e) => finish(e === undefined || e === null ? new RuntimeError('Runtime.UnhandledPromiseRejection', String(e)) : e),
      );
    } else if (!settled && !emptyLoopWaiter) {
      // A non-async handler that did not call back yet: its result is null
      // once the event loop is empty.
      emptyLoopWaiter = () => finish(null, null);
    }
  });
}

process.on('beforeExit', () => {
  if (emptyLoopWaiter) {
    const w = emptyLoopWaiter;
    emptyLoopWaiter = null;
    w();
  }
});

function sync(id) {
  stdoutWrite(SYNC + id + '\n');
  stderrWrite(SYNC + id + '\n');
}

async function postError(id, error) {
  const rapid = toRapidResponse(error);
  console.error('Invoke Error', JSON.stringify(rapid));
  sync(id);
  await api('POST', `/invocation/${id}/error`, JSON.stringify(rapid), {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': rapid.errorType,
  });
}

async function loop(handler) {
  for (;;) {
    const next = await api('GET', '/invocation/next');
    if (next.status !== 200) throw new Error(`next answered ${next.status}`);
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentId = id;
    const trace = next.headers['lambda-runtime-trace-id'];
    if (trace) env._X_AMZN_TRACE_ID = trace;
    else delete env._X_AMZN_TRACE_ID;
    let event;
    try {
      event = JSON.parse(next.body.toString('utf8'));
    } catch (e) {
      await postError(id, new RuntimeError('Runtime.UnmarshalError', `Unable to parse event as JSON: ${e.message}`));
      continue;
    }
    const out = await runHandler(handler, event, makeContext(id, next.headers));
    inFlight = null;
    if (!out.ok) {
      await postError(id, out.error);
      continue;
    }
    let body;
    try {
      body = JSON.stringify(out.value === undefined ? null : out.value);
      if (body === undefined) body = 'null';
    } catch (e) {
      await postError(id, new RuntimeError('Runtime.MarshalError', `Unable to stringify response body as json: ${e.message}`));
      continue;
    }
    sync(id);
    await api('POST', `/invocation/${id}/response`, body, { 'Content-Type': 'application/json' });
  }
}

// An error nothing caught ends the worker, after being reported.
async function fatal(err) {
  try {
    if (inFlight && currentId) {
      await postError(currentId, err);
    } else {
      const rapid = toRapidResponse(err);
      console.error('Uncaught Exception', JSON.stringify(rapid));
    }
  } catch (_) {}
  process.exit(129);
}
process.on('uncaughtException', (err) => fatal(err));
process.on('unhandledRejection', (reason) => {
  const msg = isError(reason) ? `${reason.name}: ${reason.message}` : String(reason);
  const err = new RuntimeError('Runtime.UnhandledPromiseRejection', msg);
  fatal(err);
});

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (e) {
    const rapid = toRapidResponse(e);
    console.error(`${rapid.errorType}: ${rapid.errorMessage}`);
    try {
      await api('POST', '/init/error', JSON.stringify(rapid), {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Function-Error-Type': rapid.errorType,
      });
    } catch (_) {}
    process.exit(129);
  }
  sync('init');
  await loop(handler);
}

main().catch(apiLost);
