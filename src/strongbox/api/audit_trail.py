"""Records requests in the audit log (services/audit.py), for the API and the page alike.

Recorded: every request that may change something (any method but GET, HEAD and OPTIONS),
whatever its outcome, including refusals; and every read refused: for a missing, wrong,
expired or revoked token (a failed sign-in, 401), for too many of them (429), or for a role
that does not allow it (403). Left out: dry runs (`?dry_run=true`) and the
page's live previews, which change nothing. The actor is the principal the request was
authenticated as (set on `request.state.principal` by the API's token check, the page's session
check or its sign-in); "anonymous" when there was none.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongbox.api import access
from strongbox.services import audit
from strongbox.services.auth import Principal
from strongbox.services.context import Context
from strongbox.web import access as page_access

log = logging.getLogger(__name__)

READS = frozenset({"GET", "HEAD", "OPTIONS"})
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
REFUSALS = frozenset({401, 403, 429})


class AuditTrail:
    def __init__(self, app: ASGIApp, context: Context) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            entry = entry_of(scope, status)
            if entry is not None:
                await anyio.to_thread.run_sync(self._write, entry)

    def _write(self, entry: audit.Record) -> None:
        try:
            audit.record(self.context, entry)
        except Exception:  # the answer is sent already; the log says what was not recorded
            log.exception("could not write the audit entry for %s", entry.action)


def entry_of(scope: Scope, status: int) -> audit.Record | None:
    """The audit entry of a finished request, or None when it is not one to record."""
    method = scope["method"]
    path = scope["path"]
    template = access.template_of(scope) or path
    if method in READS:
        if status not in REFUSALS:
            return None
    elif template in page_access.PREVIEWS or _dry_run(scope):
        return None
    state = scope.get("state") or {}
    principal = state.get("principal")
    client = scope.get("client")
    if isinstance(principal, Principal):
        actor, token, role = principal.actor, principal.token_name, principal.role.value
    else:
        actor, token, role = state.get("attempted_user") or audit.ANONYMOUS, None, None
    return audit.Record(
        actor=actor,
        token=token,
        role=role,
        action=f"{method} {template}",
        resource=path,
        address=client[0] if client else "unknown",
        status=status,
    )


def _dry_run(scope: Scope) -> bool:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return any(value.lower() in TRUE_WORDS for value in query.get("dry_run", []))
