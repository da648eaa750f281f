# Baton's Python runtime: a Lambda Runtime API client that imports the
# handler named by _HANDLER (`module.function`) from LAMBDA_TASK_ROOT and runs
# one invocation at a time, as AWS's python runtimes do (the context object,
# error shapes, the logging format with the request id).
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

SYNC = "\x1fbaton-sync "
BASE = "/2018-06-01/runtime"

_api = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
_host, _, _port = _api.rpartition(":")
_conn = None
_current_id = None


def api(method, path, body=None, headers=None):
    global _conn
    for attempt in (0, 1):
        try:
            if _conn is None:
                _conn = http.client.HTTPConnection(_host, int(_port))
            _conn.request(method, BASE + path, body=body, headers=headers or {})
            resp = _conn.getresponse()
            data = resp.read()
            return resp.status, resp.headers, data
        except (http.client.HTTPException, OSError):
            if _conn is not None:
                _conn.close()
            _conn = None
            if attempt == 1:
                sys.stderr.write("baton runtime: the Runtime API is unreachable; exiting\n")
                sys.stderr.flush()
                os._exit(1)


class LambdaContext:
    def __init__(self, request_id, headers):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id={},log_group_name={},log_stream_name={},function_name={},"
            "memory_limit_in_mb={},function_version={},invoked_function_arn={},client_context={},"
            "identity={}])".format(
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
            )
        )


class FaultError(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _current_id
        return True


def setup_logging():
    handler = logging.StreamHandler(sys.stdout)
    fmt = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S",
    )
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    handler.addFilter(_RequestIdFilter())
    handler.terminator = ""
    root = logging.getLogger()
    root.addHandler(handler)


def error_response(exc, request_id, skip_frames=0):
    if isinstance(exc, FaultError):
        return {
            "errorMessage": exc.message,
            "errorType": exc.error_type,
            "requestId": request_id or "",
            "stackTrace": exc.trace or [],
        }
    tb = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id or "",
        "stackTrace": traceback.format_list(tb),
    }


def log_error(resp):
    lines = ["[ERROR] {}: {}".format(resp["errorType"], resp["errorMessage"])]
    if resp.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines.extend(s.rstrip("\n") for s in resp["stackTrace"])
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def load_handler():
    handler = os.environ.get("_HANDLER", "")
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultError("Runtime.MalformedHandlerName", "Bad handler '{}': {}".format(handler, e))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultError(
                "Runtime.BuiltInModuleConflict",
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        mod = importlib.import_module(modname.replace("/", "."))
    except FaultError:
        raise
    except ImportError as e:
        raise FaultError("Runtime.ImportModuleError", "Unable to import module '{}': {}".format(modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s\n' % (e.filename, e.lineno, e.text)]
        raise FaultError("Runtime.UserCodeSyntaxError", "Syntax error in module '{}': {}".format(modname, e), trace)
    fn = getattr(mod, fname, None)
    if fn is None:
        raise FaultError(
            "Runtime.HandlerNotFound", "Handler '{}' missing on module '{}'".format(fname, modname)
        )
    return fn


def sync(request_id):
    sys.stdout.write(SYNC + request_id + "\n")
    sys.stdout.flush()
    sys.stderr.write(SYNC + request_id + "\n")
    sys.stderr.flush()


def post_error(request_id, resp):
    log_error(resp)
    sync(request_id)
    api(
        "POST",
        "/invocation/{}/error".format(request_id),
        json.dumps(resp).encode(),
        {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": resp["errorType"]},
    )


def main():
    global _current_id
    # The task root comes first on sys.path, as on Lambda (not this file's folder).
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = task_root
    elif task_root not in sys.path:
        sys.path.insert(0, task_root)
    setup_logging()
    try:
        handler = load_handler()
    except Exception as e:
        resp = error_response(e, None, 0)
        log_error(resp)
        api(
            "POST",
            "/init/error",
            json.dumps(resp).encode(),
            {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": resp["errorType"]},
        )
        sys.exit(129)
    sync("init")
    while True:
        status, headers, body = api("GET", "/invocation/next")
        if status != 200:
            sys.stderr.write("baton runtime: next answered {}\n".format(status))
            sys.exit(1)
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        _current_id = request_id
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            event = json.loads(body.decode("utf-8"))
        except Exception as e:
            post_error(
                request_id,
                error_response(FaultError("Runtime.UnmarshalError", "Unable to unmarshal input: {}".format(e)), request_id),
            )
            continue
        context = LambdaContext(request_id, headers)
        try:
            result = handler(event, context)
        except Exception as e:
            post_error(request_id, error_response(e, request_id, 1))
            continue
        try:
            out = json.dumps(result).encode()
        except Exception as e:
            post_error(
                request_id,
                error_response(FaultError("Runtime.MarshalError", "Unable to marshal response: {}".format(e)), request_id),
            )
            continue
        sync(request_id)
        api("POST", "/invocation/{}/response".format(request_id), out, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
