"""The S3 client's signing choice per scheme, and one client per storage reused across jobs.

Building a boto3 client makes no request; the signed request is caught before it is sent."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse

from strongbox.storage.kind import OpenOptions
from strongbox.storage.s3.client import S3Settings, make_client
from strongbox.storage.s3.kind import S3

UNSIGNED = "UNSIGNED-PAYLOAD"
BODY = b"a part of a dump"


class _NoResponse:
    """A raw body for the stand-in response: empty, so that PutObject succeeds."""

    def stream(self, **_: Any) -> Any:
        return iter(())

    def read(self, *_: Any) -> bytes:
        return b""


def _signed_payload_header(endpoint_url: str) -> str:
    settings = S3Settings(
        endpoint_url=endpoint_url,
        bucket="b",
        region="us-east-1",
        access_key_id="key",
        secret_access_key="secret",
    )
    client = make_client(settings, concurrency=1)
    sent: dict[str, str] = {}

    def capture(request: Any, **_: Any) -> AWSResponse:
        for name, value in request.headers.items():
            sent[name.lower()] = value.decode() if isinstance(value, bytes) else value
        return AWSResponse(request.url, 200, {}, _NoResponse())

    client.meta.events.register("before-send.s3.PutObject", capture)
    client.put_object(Bucket="b", Key="k", Body=BODY)
    return sent["x-amz-content-sha256"]


def test_over_https_the_body_is_not_hashed_for_the_signature() -> None:
    assert _signed_payload_header("https://s3.example.test") == UNSIGNED


def test_over_http_the_body_hash_is_kept_in_the_signature() -> None:
    assert _signed_payload_header("http://s3.example.test:8333") == hashlib.sha256(BODY).hexdigest()


def _settings(**changes: Any) -> dict[str, Any]:
    return {
        "endpoint_url": "http://s3.example.test:8333",
        "bucket": "backups",
        "region": "us-east-1",
        "prefix": "",
        "access_key_id": "key",
        "verify_tls": True,
        "ca_bundle": None,
        "force_path_style": True,
    } | changes


def test_a_storage_opened_twice_reuses_its_client(tmp_path: Path) -> None:
    options = OpenOptions(data_dir=tmp_path, timeout=5.0)
    first: Any = S3.open(_settings(), "secret", options)
    second: Any = S3.open(_settings(), "secret", options)
    assert second is first
    assert second._client is first._client


def test_a_changed_storage_gets_a_new_client(tmp_path: Path) -> None:
    options = OpenOptions(data_dir=tmp_path, timeout=5.0)
    before: Any = S3.open(_settings(), "secret", options)
    moved: Any = S3.open(_settings(bucket="other"), "secret", options)
    new_secret: Any = S3.open(_settings(), "another-secret", options)
    assert moved._client is not before._client
    assert new_secret._client is not before._client
    assert new_secret._client is not moved._client


def test_the_client_model_is_botocores_without_its_prose() -> None:
    settings = S3Settings(
        endpoint_url="http://s3.example.test:8333",
        bucket="b",
        region="us-east-1",
        access_key_id="key",
        secret_access_key="secret",
    )
    lean = make_client(settings, concurrency=1).meta.service_model
    stock = botocore.session.Session().get_service_model("s3")
    assert stock.documentation
    assert lean.documentation == ""
    assert lean.operation_names == stock.operation_names
    for name in ("CreateMultipartUpload", "UploadPart", "ListMultipartUploads"):
        lean_input = lean.operation_model(name).input_shape
        stock_input = stock.operation_model(name).input_shape
        assert list(lean_input.members) == list(stock_input.members)
        assert lean_input.metadata == stock_input.metadata
    # botocore reads every client context parameter's documentation key to resolve endpoints.
    assert [p.name for p in lean.client_context_parameters] == [
        p.name for p in stock.client_context_parameters
    ]
