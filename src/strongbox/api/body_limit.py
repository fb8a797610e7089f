"""A limit on the size of request bodies, checked before anything parses them.

Every route, the API's and the page's (sign-in and form posts included), is behind it: no
request of Strongbox needs more than `MAX_BODY_BYTES`, and a larger one would only cost memory
and parsing time, before sign-in too. A `Content-Length` over the limit is answered at once,
without reading the body; a body sent without one (chunked) is counted as it arrives and refused
as soon as it passes the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongbox.api.problems import problem

MAX_BODY_BYTES = 1024 * 1024
TOO_LARGE = (
    f"the request body is larger than {MAX_BODY_BYTES} bytes (1 MiB), the most Strongbox accepts"
)


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit. An HTTPException, so that the
    framework's body parsing lets it through and the problem handler answers it with a 413."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=TOO_LARGE)


class BodyLimit:
    """ASGI middleware that refuses bodies over `max_bytes` with a 413 problem."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Only when no handler answered it already (a body read outside the framework).
            if started:
                raise
            await _refuse(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    response = problem(413, "body-too-large", TOO_LARGE, headers={"Connection": "close"})
    await response(scope, receive, send)
