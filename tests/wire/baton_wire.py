"""Helpers of the wire suite: every test gets its own freshly spawned
`baton serve` (a random free port, a temporary data directory, killed at the
end) and real, unmodified AWS clients pointed at it: boto3 and the aws CLI v1
from PyPI (versions pinned in requirements.txt).

The `baton` binary is `$BATON_BIN`, else `target/debug/baton` of this
repository (scripts/test builds it and sets BATON_BIN).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/baton-wire"


def baton_bin() -> Path:
    explicit = os.environ.get("BATON_BIN")
    path = Path(explicit) if explicit else REPO / "target" / "debug" / "baton"
    if not path.is_file():
        pytest.exit(
            f"the baton binary is missing at {path}: build it (cargo build -p baton) "
            "or set BATON_BIN",
            returncode=2,
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_call(port: int, action: str, body: dict, timeout: float = 2.0):
    """One request with the standard library (readiness probe only)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AWSStepFunctions.{action}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/states/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read() or b"{}")


class Baton:
    """One `baton serve` process on a fixed port and data directory; it can
    be stopped (SIGTERM or SIGKILL) and started again on the same data."""

    def __init__(self, data_dir: Path, log_path: Path, extra_args=()):
        self.bin = baton_bin()
        self.port = free_port()
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.proc = None
        self.starts = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        assert self.proc is None, "already running"
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts} =====\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [
                str(self.bin),
                "serve",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--data",
                str(self.data_dir),
                *self.extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"baton serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, _ = raw_call(self.port, "ListStateMachines", {})
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"baton serve did not come up within 30 s:\n{self.log_tail()}")

    def stop(self, sig=signal.SIGTERM, timeout: float = 20) -> int:
        """Stops the server with `sig`; returns its exit code."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError(f"baton serve ignored {sig!r} for {timeout} s")
        return proc.returncode

    def restart(self, sig=signal.SIGTERM) -> int:
        code = self.stop(sig)
        self.start()
        return code

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def boto_client(server: Baton, **config):
    cfg = {"retries": {"max_attempts": 1}, "read_timeout": 70, "connect_timeout": 5}
    cfg.update(config)
    return boto3.session.Session().client(
        "stepfunctions",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**cfg),
    )


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout) if self.stdout.strip() else {}


def aws_executable() -> str:
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return str(beside)
    found = shutil.which("aws")
    if not found:
        pytest.exit("the aws CLI is not installed (pip install -r tests/wire/requirements.txt)", returncode=2)
    return found


class Cli:
    """`aws stepfunctions …` (CLI v1) against `server`, configured the way a
    user would: AWS_ENDPOINT_URL plus dummy credentials."""

    def __init__(self, server: Baton):
        self.server = server
        self.exe = aws_executable()

    def run(self, *args, env=None, check=None, timeout=90) -> CliResult:
        e = dict(os.environ)
        e["AWS_ENDPOINT_URL"] = self.server.endpoint
        e["AWS_MAX_ATTEMPTS"] = "1"
        e.update(env or {})
        p = subprocess.run(
            [self.exe, "stepfunctions", *[str(a) for a in args], "--output", "json"],
            capture_output=True,
            text=True,
            env=e,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        r = CliResult(p.returncode, p.stdout, p.stderr)
        if check is True:
            assert r.code == 0, f"aws {' '.join(map(str, args))} failed ({r.code}): {r.stderr}"
        return r

    def ok(self, *args, **kw):
        return self.run(*args, check=True, **kw).json

    def fails(self, *args, **kw) -> str:
        r = self.run(*args, **kw)
        assert r.code != 0, f"aws {' '.join(map(str, args))} succeeded: {r.stdout}"
        # the CLI v1 exits 255 on a service error (v2: 254)
        assert r.code == 255, (r.code, r.stderr)
        return r.stderr.strip()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(fn, timeout: float = 20, interval: float = 0.05, what: str = "condition"):
    """Polls `fn` until it returns a truthy value; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last value: {last!r}")


def wait_status(sfn, execution_arn: str, statuses=("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"), timeout=30):
    def done():
        d = sfn.describe_execution(executionArn=execution_arn)
        return d if d["status"] in statuses else None

    return wait_for(done, timeout=timeout, what=f"{execution_arn} to reach {statuses}")


def history(sfn, execution_arn: str, **kw):
    events = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn, **kw):
        events.extend(page["events"])
    return events


def event_types(events):
    return [e["type"] for e in events]
