"""SNS `https` subscriptions through boto3: a local HTTPS endpoint whose
certificate comes from a test CA that `baton serve` trusts through
BATON_EXTRA_CA_CERTS gets the SubscriptionConfirmation, then, once it has
confirmed through its SubscribeURL, the notifications with AWS's headers.
The certificates are made with the openssl command (the test is skipped
without it)."""

import json
import shutil
import signal
import ssl
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config

from baton_wire import REGION, Baton, unique, wait_for


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def pki(tmp_path):
    """A test CA (ca.pem) and a server certificate for 127.0.0.1 signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    d = tmp_path / "pki"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Baton wire test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem", cwd=d)
    return d


class TlsSink:
    """A local HTTPS endpoint recording every POST; answers 200."""

    def __init__(self, cert, key):
        self.requests = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode()
                with sink.lock:
                    sink.requests.append((dict((k.lower(), v) for k, v in self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def of_type(self, kind):
        with self.lock:
            return [(h, json.loads(b)) for h, b in self.requests if h.get("x-amz-sns-message-type") == kind]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tls_sink(pki):
    s = TlsSink(str(pki / "server.pem"), str(pki / "server.key"))
    yield s
    s.close()


@pytest.fixture
def trusting_server(request, tmp_path, monkeypatch, pki):
    """`baton serve` started with BATON_EXTRA_CA_CERTS naming the test CA."""
    monkeypatch.setenv("BATON_EXTRA_CA_CERTS", str(pki / "ca.pem"))
    server = Baton(tmp_path / "data", tmp_path / "baton.log")
    server.start()

    def finish():
        server.stop(signal.SIGKILL)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print(f"\n--- baton serve log ---\n{server.log_tail()}")

    request.addfinalizer(finish)
    return server


def test_https_subscription_confirm_and_deliver(trusting_server, tls_sink):
    sns = boto3.session.Session().client(
        "sns",
        endpoint_url=trusting_server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, read_timeout=30, connect_timeout=5),
    )
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    resp = sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=tls_sink.url)
    assert resp["SubscriptionArn"] == "pending confirmation"
    headers, conf = wait_for(lambda: tls_sink.of_type("SubscriptionConfirmation"), what="the confirmation")[0]
    assert conf["TopicArn"] == topic
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["x-amz-sns-message-id"] == conf["MessageId"]
    assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
    # the endpoint confirms the way real ones do: a GET of SubscribeURL
    assert conf["SubscribeURL"].startswith(trusting_server.endpoint + "/?Action=ConfirmSubscription")
    with urllib.request.urlopen(conf["SubscribeURL"], timeout=10) as r:
        assert r.status == 200
        confirmed = r.read().decode()
    sub = wait_for(lambda: [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
                            if s["SubscriptionArn"].startswith(topic + ":")], what="the confirmed subscription")[0]
    assert sub in confirmed
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["Protocol"] == "https"

    mid = sns.publish(
        TopicArn=topic,
        Message="over tls",
        Subject="s",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )["MessageId"]
    headers, note = wait_for(lambda: tls_sink.of_type("Notification"), what="the notification")[0]
    assert headers["x-amz-sns-message-id"] == mid
    assert headers["x-amz-sns-subscription-arn"] == sub
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["content-type"].lower().startswith("text/plain")
    assert note["Message"] == "over tls" and note["Subject"] == "s"
    assert note["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    assert note["UnsubscribeURL"].startswith(trusting_server.endpoint)
