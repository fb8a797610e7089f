"""Sign-in attempts limited per client address, for the API's tokens and the page's sign-in.

The limiter (`domain/attempts.py`) lives on the application, in memory: a restart forgets it,
and each replica counts its own attempts. The client address is the one the HTTP server gives
(uvicorn takes it from `X-Forwarded-For` only when the proxy is one it trusts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException

from strongbox.domain.attempts import FailureLimiter
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.services.context import Context

T = TypeVar("T")


class TooManySignIns(HTTPException):
    """429 with Retry-After; the API answers it as a problem, the page as a message."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            status_code=429,
            detail=f"too many failed sign-ins from this address: try again in {retry_after} s "
            f"(about {minutes} min)",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


def install(app: FastAPI) -> None:
    app.state.sign_in_limiter = FailureLimiter()


def sign_in_limited(request: Request, check: Callable[[], T]) -> T:
    """Run `check` (a sign-in that raises an UNAUTHORIZED StrongboxError on a wrong token)
    unless the client's address is refused for now (TooManySignIns); count its failure."""
    limiter: FailureLimiter = request.app.state.sign_in_limiter
    ctx: Context = request.app.state.context
    client = request.client.host if request.client is not None else "unknown"
    now = ctx.clock.now().timestamp()
    wait = limiter.retry_after(client, now)
    if wait is not None:
        raise TooManySignIns(wait)
    try:
        result = check()
    except StrongboxError as exc:
        if exc.kind == ErrorKind.UNAUTHORIZED:
            limiter.record_failure(client, now)
        raise
    limiter.record_success(client)
    return result
