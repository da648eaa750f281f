"""Helpers of the SQS wire tests: clients of a `baton serve` and the digests
AWS computes (MD5OfMessageBody, MD5OfMessageAttributes), written from AWS's
documented algorithm so the tests check Baton against it."""

import hashlib
import json
import struct
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

from baton_wire import REGION

AUTH = (
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


def sqs_client(server, **config):
    cfg = {"retries": {"max_attempts": 1}, "read_timeout": 40, "connect_timeout": 5}
    cfg.update(config)
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**cfg),
    )


def md5_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def md5_attributes(attrs: dict) -> str:
    """MD5OfMessageAttributes: names sorted; each length-prefixed name, data
    type, a transport byte (1 string, 2 binary) and the length-prefixed value."""
    h = hashlib.md5()

    def put(b: bytes):
        h.update(struct.pack(">I", len(b)))
        h.update(b)

    for name in sorted(attrs):
        v = attrs[name]
        put(name.encode())
        put(v["DataType"].encode())
        if "StringValue" in v:
            h.update(b"\x01")
            put(v["StringValue"].encode())
        else:
            h.update(b"\x02")
            put(v["BinaryValue"])
    return h.hexdigest()


def raw(server, path: str, body: bytes, headers: dict, timeout: float = 30):
    """One HTTP POST; returns (status, headers, body bytes)."""
    req = urllib.request.Request(server.endpoint + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def raw_json(server, action: str, body: dict, path: str = "/", extra_headers=None):
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"AmazonSQS.{action}",
        "Authorization": AUTH,
    }
    headers.update(extra_headers or {})
    status, h, data = raw(server, path, json.dumps(body).encode(), headers)
    return status, {k.lower(): v for k, v in h.items()}, json.loads(data or b"{}")


def raw_query(server, params: dict, path: str = "/"):
    from urllib.parse import urlencode

    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": AUTH,
    }
    status, h, data = raw(server, path, urlencode(params).encode(), headers)
    return status, {k.lower(): v for k, v in h.items()}, data.decode()
