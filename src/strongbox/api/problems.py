"""RFC 9457 problem details for every error, so that no input ever produces a bare 500."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongbox.errors import ErrorKind, Forbidden, StrongboxError
from strongbox.services.schemas.errors import field_message

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
STATUS_OF_KIND = {
    ErrorKind.INVALID: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
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
        "required_role": {
            "type": "string",
            "description": "with 403: the least role that may make the request",
        },
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
    401: "no API token, or a wrong, expired or revoked one",
    403: "the token's role does not allow this; `required_role` names the role it needs",
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
    extra: dict[str, str] | None = None,
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
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(StrongboxError)
    async def strongbox_error(_request: Request, exc: StrongboxError) -> JSONResponse:
        status = STATUS_OF_KIND[exc.kind]
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        extra = {"required_role": exc.required_role} if isinstance(exc, Forbidden) else None
        return problem(status, exc.code, exc.detail, errors, headers, extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in raw):
            return problem(400, "malformed-json", "the request body is not valid JSON")
        errors = [asdict(field_message(e)) for e in raw]
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
