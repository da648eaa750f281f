"""Fixtures of the wire suite: every test gets its own freshly spawned
`baton serve` (see baton_wire.Baton) and real AWS clients pointed at it."""

import os
import shutil
import signal
import sys

import pytest

from baton_wire import REGION, Baton, Cli, boto_client


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(autouse=True, scope="session")
def _isolated_aws_env(tmp_path_factory):
    """No profile, config file or endpoint of the host leaks into the clients."""
    home = tmp_path_factory.mktemp("aws-home")
    mp = pytest.MonkeyPatch()
    for k in list(os.environ):
        if k.startswith("AWS_"):
            mp.delenv(k)
    mp.setenv("AWS_ACCESS_KEY_ID", "test")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "test")
    mp.setenv("AWS_DEFAULT_REGION", REGION)
    mp.setenv("AWS_CONFIG_FILE", str(home / "config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    mp.setenv("AWS_PAGER", "")
    yield
    mp.undo()


def make_server(request, tmp_path, extra_args=()):
    data = tmp_path / "data"
    server = Baton(data, tmp_path / "baton.log", extra_args)
    server.start()

    def finish():
        server.stop(signal.SIGKILL)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            sys.stderr.write(f"\n--- baton serve log ({server.log_path}) ---\n{server.log_tail()}\n")
        shutil.rmtree(data, ignore_errors=True)

    request.addfinalizer(finish)
    return server


@pytest.fixture
def server(request, tmp_path):
    """A fresh `baton serve` (default options)."""
    return make_server(request, tmp_path)


@pytest.fixture
def server_factory(request, tmp_path):
    """Starts `baton serve` with extra options: server_factory("--time-scale", "0.1")."""
    made = []

    def make(*extra_args):
        sub = tmp_path / f"s{len(made)}"
        sub.mkdir()
        s = make_server(request, sub, extra_args)
        made.append(s)
        return s

    return make


@pytest.fixture
def sfn(server):
    """boto3 Step Functions client of `server`. `read_timeout=70`: GetActivityTask
    holds a poll for up to 60 s."""
    return boto_client(server)


@pytest.fixture
def cli(server):
    return Cli(server)


@pytest.fixture
def cli_factory():
    """The aws CLI against another server: cli_factory(server)."""
    return Cli


def _speaks_sqs_query() -> bool:
    """botocore 1.34.89 and older send SQS's query protocol; newer send JSON."""
    import botocore

    return tuple(int(p) for p in botocore.__version__.split(".")[:3]) <= (1, 34, 89)


# The query-protocol tests run under the old boto3 (.venv-wire-old, see
# scripts/test); with the current one they are not collected at all.
collect_ignore_glob = [] if _speaks_sqs_query() else ["test_sqs_query*.py"]
