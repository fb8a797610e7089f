"""Inputs at the edges: malformed fields, oversized bodies, forged cookies and CSRF values,
sign-in floods, and the API docs page. Each is a 4xx that says what was wrong, never a 5xx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.seaweed import SeaweedServer
from integration.bodies import s3_storage
from integration.problems import assert_problem, fields_of
from strongbox.api.body_limit import MAX_BODY_BYTES
from strongbox.domain.attempts import MAX_FAILURES
from strongbox.web.session import COOKIE_NAME

pytestmark = pytest.mark.integration

TWO_MIB = 2 * 1024 * 1024


def sign_in(url: str, token: str) -> httpx.Response:
    return httpx.post(f"{url}/sign-in", data={"token": token}, follow_redirects=False)


# --- the inputs that were 500s --------------------------------------------------------------


def test_a_region_that_botocore_refuses_is_a_422_naming_the_field(
    strongbox: RunningServer, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    created = strongbox.client.post("/api/v1/backup-storages", json=s3_storage(seaweed, s3_bucket))
    assert created.status_code == 201, created.text
    response = strongbox.client.patch("/api/v1/backup-storages/bucket", json={"region": "0"})
    body = assert_problem(response, 422, "invalid-request")
    assert fields_of(body) == {"body.region"}
    assert "us-east-1" in body["detail"]


def test_a_non_ascii_endpoint_host_is_a_422_that_gives_its_idna_form(
    strongbox: RunningServer, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    storage = s3_storage(seaweed, s3_bucket)
    storage["endpoint_url"] = "http://bücher.example:8333"
    response = strongbox.client.post("/api/v1/backup-storages", json=storage)
    body = assert_problem(response, 422, "invalid-request")
    assert fields_of(body) == {"body.endpoint_url"}
    assert "xn--bcher-kva.example" in body["detail"]


@pytest.mark.parametrize("host", ["db\x00.example", "db\x01host", "db\nhost", "db\u200b.example"])
def test_control_characters_in_a_database_host_are_a_422_naming_the_field(
    strongbox: RunningServer, host: str
) -> None:
    body = {"name": "prod", "engine": "postgresql", "host": host, "username": "postgres"}
    response = strongbox.client.post("/api/v1/databases", json=body)
    problem = assert_problem(response, 422, "invalid-request")
    assert fields_of(problem) == {"body.host"}


def test_a_malformed_name_in_the_path_is_a_422_naming_the_rule(strongbox: RunningServer) -> None:
    response = strongbox.client.get("/api/v1/databases/Prod%00/backups")
    problem = assert_problem(response, 422, "invalid-request")
    assert fields_of(problem) == {"path.database"}
    assert "lowercase" in problem["detail"]


def test_the_document_states_a_length_limit_for_every_string_a_request_sends(
    strongbox: RunningServer,
) -> None:
    spec = httpx.get(f"{strongbox.url}/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    unbounded: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, where)
            return
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name], name)
            return
        free = not {"maxLength", "enum", "const"} & node.keys()
        if node.get("type") == "string" and free:
            unbounded.append(where)
        for key, value in node.items():
            if key == "properties":
                for field, schema in value.items():
                    walk(schema, f"{where}.{field}")
            else:
                walk(value, where)

    seen: set[str] = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            walk(operation.get("requestBody", {}), f"{method} {path}")
            for parameter in operation.get("parameters", []):
                walk(parameter["schema"], f"{method} {path} {parameter['name']}")
    assert seen, "no request schema was walked"
    assert unbounded == []
    host = schemas["DatabaseCreate"]["properties"]["host"]
    assert host["maxLength"] == 253
    assert host["pattern"].startswith("^")


# --- body size ------------------------------------------------------------------------------


def test_a_2_mib_body_is_a_413_before_it_is_parsed(strongbox: RunningServer) -> None:
    response = strongbox.client.post(
        "/api/v1/databases",
        content=b"{" + b" " * TWO_MIB + b"}",
        headers={"Content-Type": "application/json"},
    )
    body = assert_problem(response, 413, "body-too-large")
    assert str(MAX_BODY_BYTES) in body["detail"]


def test_a_chunked_body_is_refused_once_it_passes_1_mib(strongbox: RunningServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(TWO_MIB // 65536):
            yield b"a" * 65536
        yield b'"}'

    response = strongbox.client.post(
        "/api/v1/databases", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers  # it really was chunked
    assert_problem(response, 413, "body-too-large")


def test_a_2_mib_sign_in_form_is_a_413(strongbox: RunningServer) -> None:
    response = sign_in(strongbox.url, "x" * TWO_MIB)
    assert_problem(response, 413, "body-too-large")


def test_a_body_just_under_the_limit_is_parsed(strongbox: RunningServer) -> None:
    padding = " " * (MAX_BODY_BYTES - 200)
    response = strongbox.client.post(
        "/api/v1/databases",
        content=f'{{"name": "prod"{padding}}}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 422, "invalid-request")  # read and validated: fields missing


# --- cookies and CSRF -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ééé.signature", "e30.sïgnätüre", "e30", "%%.."])
def test_a_non_ascii_or_malformed_session_cookie_is_no_session(
    strongbox: RunningServer, value: str
) -> None:
    cookie = [(b"cookie", f"{COOKIE_NAME}={value}".encode())]
    page = httpx.get(f"{strongbox.url}/databases", headers=cookie, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/"
    form = httpx.post(f"{strongbox.url}/sign-out", headers=cookie, data={"csrf_token": "x"})
    assert form.status_code == 401
    assert "sign in again" in form.text


def test_a_non_ascii_or_malformed_csrf_value_is_a_403(strongbox: RunningServer) -> None:
    signed_in = sign_in(strongbox.url, strongbox.token)
    assert signed_in.status_code == 303, signed_in.text
    cookies = {COOKIE_NAME: signed_in.cookies[COOKIE_NAME]}
    for form in ({"csrf_token": "ünïcödé"}, {"csrf_token": "\x00"}, {}):
        refused = httpx.post(f"{strongbox.url}/sign-out", cookies=cookies, data=form)
        assert refused.status_code == 403, (form, refused.text)
    header = httpx.post(
        f"{strongbox.url}/sign-out",
        cookies=cookies,
        headers=[(b"x-csrf-token", "é".encode("latin-1"))],
    )
    assert header.status_code == 403


# --- sign-in limits -------------------------------------------------------------------------


def test_the_page_refuses_sign_ins_after_too_many_failures_with_retry_after(
    strongbox: RunningServer,
) -> None:
    for _ in range(MAX_FAILURES):
        assert sign_in(strongbox.url, "wrong-token").status_code == 401
    refused = sign_in(strongbox.url, strongbox.token)  # even the right token, for now
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 300
    assert "Too many failed sign-ins" in refused.text
    assert COOKIE_NAME not in refused.cookies


def test_the_api_refuses_tokens_after_too_many_wrong_ones_with_a_problem(
    strongbox: RunningServer,
) -> None:
    wrong = {"Authorization": "Bearer wrong-token"}
    for _ in range(MAX_FAILURES):
        assert httpx.get(f"{strongbox.url}/api/v1/databases", headers=wrong).status_code == 401
    response = httpx.get(f"{strongbox.url}/api/v1/databases", headers=wrong)
    body = assert_problem(response, 429, "too-many-sign-ins")
    assert int(response.headers["retry-after"]) >= 1
    assert "try again in" in body["detail"]


def test_a_right_token_forgets_earlier_failures(strongbox: RunningServer) -> None:
    for _ in range(MAX_FAILURES - 1):
        assert sign_in(strongbox.url, "wrong-token").status_code == 401
    assert sign_in(strongbox.url, strongbox.token).status_code == 303
    assert sign_in(strongbox.url, "wrong-token").status_code == 401


# --- Secure cookie --------------------------------------------------------------------------


def test_the_cookie_is_not_secure_on_plain_http(strongbox: RunningServer) -> None:
    response = sign_in(strongbox.url, strongbox.token)
    assert "secure" not in response.headers["set-cookie"].lower()


def test_the_cookie_is_secure_when_the_public_url_is_https(tmp_path: Path) -> None:
    running, server = start_server(tmp_path / "data", public_url="https://backups.example.com")
    try:
        response = sign_in(running.url, running.token)
        assert response.status_code == 303
        attributes = [a.strip().lower() for a in response.headers["set-cookie"].split(";")]
        assert "secure" in attributes
        assert "httponly" in attributes
    finally:
        stop_server(running, server)


def test_the_cookie_is_secure_when_a_local_proxy_says_https(strongbox: RunningServer) -> None:
    # uvicorn believes X-Forwarded-Proto from 127.0.0.1, the proxy it trusts by default.
    response = httpx.post(
        f"{strongbox.url}/sign-in",
        data={"token": strongbox.token},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"},
    )
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


# --- API docs -------------------------------------------------------------------------------


def test_the_api_docs_load_only_local_files(strongbox: RunningServer) -> None:
    page = httpx.get(f"{strongbox.url}/api/docs")
    assert page.status_code == 200
    assert "://" not in page.text  # no address of another site, not even a validator badge
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) >= 3, assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert httpx.get(f"{strongbox.url}{asset}").status_code == 200, asset
    assert "url: '/api/v1/openapi.json'" in page.text
