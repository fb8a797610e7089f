"""RFC 9457 problem details for every error, so that no input ever produces a bare 500."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongbox.domain.frequency import FREQUENCY_TAGS
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.storage import registry

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
STATUS_OF_KIND = {
    ErrorKind.INVALID: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.REFUSED: 422,
    ErrorKind.INTERNAL: 500,
}
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
}
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:strongbox:problem:{code}"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what was wrong and what to do"},
        "code": {"type": "string", "description": "a stable slug that clients may match on"},
        "errors": {
            "type": "array",
            "description": "one entry per bad field",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_WHEN = {
    400: "the body is not valid JSON",
    401: "no API token, or a wrong one",
    404: "no such resource",
    409: "the request clashes with the current state",
    413: "the request body is over 1 MiB",
    422: "invalid fields (one entry per field in `errors`), or a live check refused",
    429: "too many failed sign-ins from this address; see Retry-After",
}
# The error answers every API route may give, for the OpenAPI document.
OPENAPI_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": f"{TITLES[status]}: {when}",
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
        **({"headers": {"Retry-After": {"schema": {"type": "integer"}}}} if status == 429 else {}),
    }
    for status, when in _WHEN.items()
}


def problem(
    status: int,
    code: str,
    detail: str,
    errors: Sequence[dict[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:strongbox:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(error: dict[str, Any]) -> str:
    loc = error.get("loc", ())
    # Tags of discriminated unions appear in pydantic's error locations (`body.s3.bucket`);
    # people know the field only.
    storage_tags = registry.names()
    parts = [
        str(p)
        for i, p in enumerate(loc)
        if not (i == 1 and p in storage_tags)
        and not (i > 0 and loc[i - 1] == "frequency" and p in FREQUENCY_TAGS)
    ]
    if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        # The discriminator field itself is what is wrong or missing.
        parts.append(str(error.get("ctx", {}).get("discriminator", "type")).strip("'"))
    return ".".join(parts)


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        return "unknown field: remove it, or check its spelling"
    if error.get("type") in ("missing", "union_tag_not_found"):
        return "this field is required"
    return msg


def install(app: FastAPI) -> None:
    @app.exception_handler(StrongboxError)
    async def strongbox_error(_request: Request, exc: StrongboxError) -> JSONResponse:
        status = STATUS_OF_KIND[exc.kind]
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return problem(status, exc.code, exc.detail, errors, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in raw):
            return problem(400, "malformed-json", "the request body is not valid JSON")
        errors = [{"field": _field_path(e), "message": _message(e)} for e in raw]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "invalid-request", f"the request has invalid fields: {summary}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not-found",
            405: "method-not-allowed",
            413: "body-too-large",
            429: "too-many-sign-ins",
        }.get(exc.status_code, "http-error")
        return problem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error while answering a request")
        return problem(500, "internal", "an unexpected error happened; the server log has details")
