"""The web page's sign-in session and CSRF protection.

A person signs in once with a user name and password, or with an API token; the page then keeps
a session cookie of its own: a JSON payload (user or token name, role, a per-session CSRF token,
issue time, a fingerprint of the password or token) signed with HMAC-SHA256. Each request checks
the session against the catalog: it ends when the password is changed, the token replaced or
revoked, or the user removed, and it acts with the user's role as it is now.
No session table and no extra dependency. The signing key is derived from `STRONGBOX_SECRET_KEY`
when set (so that replicas share sessions), else a random key kept in `{data_dir}/web-session.key`
(0600). The cookie is HttpOnly and SameSite=Strict, Secure over https (`cookie_is_secure`),
and lasts `SESSION_SECONDS`. Changing the key signs everyone out.

Every POST of the page carries the session's CSRF token, as the form field `csrf_token` or, for
htmx requests, the header `X-CSRF-Token`; it is compared in constant time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from strongbox.api import access as api_access
from strongbox.config import Settings
from strongbox.domain.roles import Role
from strongbox.secretbox import write_private_file
from strongbox.services import auth
from strongbox.services.auth import Principal
from strongbox.services.context import Context
from strongbox.web import access as page_access

COOKIE_NAME = "strongbox_session"
SESSION_SECONDS = 12 * 3600
KEY_FILE_NAME = "web-session.key"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInNeeded(Exception):
    """The request has no valid session: the page answers with the sign-in form."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token (or from another origin)."""


class RoleRefused(Exception):
    """The session's role does not allow the page route asked for."""

    def __init__(self, needed: Role) -> None:
        super().__init__(needed.value)
        self.needed = needed


@dataclass(frozen=True)
class WebSession:
    user: str | None  # signed in with a password, or with one of the user's tokens
    token_name: str | None  # signed in with this API token
    role: str
    csrf: str
    issued_at: float
    # The password's or token's fingerprint at sign-in: the session ends when it changes.
    fingerprint: str = ""

    @property
    def principal(self) -> Principal:
        return Principal(
            role=Role(self.role),
            user=self.user,
            token_name=self.token_name,
            fingerprint=self.fingerprint,
        )

    def may(self, role: str) -> bool:
        """Whether the session's role covers `role` (the templates hide what it does not)."""
        return Role(self.role).covers(Role(role))


def session_key(settings: Settings) -> bytes:
    """The HMAC key of session cookies (see the module docstring)."""
    if settings.secret_key is not None:
        material = settings.secret_key.get_secret_value().encode()
        return hashlib.sha256(b"strongbox-web-session:" + material).digest()
    path = settings.data_dir / KEY_FILE_NAME
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            write_private_file(path, secrets.token_hex(32).encode())
    return path.read_bytes().strip()


def encode(session: WebSession, key: bytes) -> str:
    payload = json.dumps(
        {
            "u": session.user,
            "n": session.token_name,
            "r": session.role,
            "c": session.csrf,
            "t": session.issued_at,
            "k": session.fingerprint,
        },
        separators=(",", ":"),
    ).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_sign(body, key)}"


def decode(value: str, key: bytes, now: float) -> WebSession | None:
    """The session in a cookie value, or None when it is forged, malformed or expired.

    >>> key = b"k" * 32
    >>> s = WebSession(None, "admin", "admin", "c" * 32, 1000.0)
    >>> decode(encode(s, key), key, 1001.0) == s
    True
    >>> decode(encode(s, key), b"x" * 32, 1001.0) is None
    True
    >>> decode(encode(s, key), key, 1000.0 + SESSION_SECONDS + 1) is None
    True
    >>> decode("é." + encode(s, key), key, 1001.0) is None
    True
    """
    if not value.isascii():  # a signed cookie is base64 and '.': anything else is forged
        return None
    body, _, signature = value.partition(".")
    if not body or not hmac.compare_digest(signature, _sign(body, key)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        session = WebSession(
            _optional_text(data["u"]),
            _optional_text(data["n"]),
            Role(data["r"]).value,
            str(data["c"]),
            float(data["t"]),
            str(data["k"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if not session.issued_at <= now < session.issued_at + SESSION_SECONDS:
        return None
    return session


def _optional_text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("not a text")
    return value


def _sign(body: str, key: bytes) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_session(principal: Principal, now: datetime) -> WebSession:
    return WebSession(
        principal.user,
        principal.token_name,
        principal.role.value,
        secrets.token_urlsafe(24),
        now.timestamp(),
        principal.fingerprint,
    )


def set_cookie(response: Response, request: Request, session: WebSession) -> None:
    response.set_cookie(
        COOKIE_NAME,
        encode(session, request.app.state.web_session_key),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=cookie_is_secure(request),
        path="/",
    )


def cookie_is_secure(request: Request) -> bool:
    """Secure when this request came over https (as the HTTP server saw it: uvicorn takes
    `X-Forwarded-Proto` from the proxies it trusts, 127.0.0.1 by default) or when people reach
    Strongbox at an https `STRONGBOX_PUBLIC_URL`, e.g. through a TLS proxy on another host."""
    ctx: Context = request.app.state.context
    public_url = ctx.settings.public_url or ""
    return request.url.scheme == "https" or public_url.lower().startswith("https://")


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        httponly=True,
        samesite="strict",
        secure=cookie_is_secure(request),
        path="/",
    )


def current(request: Request) -> WebSession | None:
    value = request.cookies.get(COOKIE_NAME)
    if not value:
        return None
    ctx: Context = request.app.state.context
    session = decode(value, request.app.state.web_session_key, ctx.clock.now().timestamp())
    if session is None:
        return None
    # A session whose password or token was replaced since, or whose user or token is gone,
    # has ended; one whose user changed role acts with the new role.
    principal = auth.session_principal(ctx, session.user, session.token_name, session.fingerprint)
    if principal is None:
        return None
    return replace(session, role=principal.role.value)


def require_session(request: Request) -> WebSession:
    """The signed-in session, after checking that its role may use the page route asked for
    (`web/access.py`): RoleRefused otherwise."""
    session = current(request)
    if session is None:
        raise SignInNeeded
    request.state.principal = session.principal
    template = api_access.template_of(request.scope) or request.url.path
    needed = page_access.role_needed(request.method, template)
    if not Role(session.role).covers(needed):
        raise RoleRefused(needed)
    return session


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (Origin header)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def csrf_matches(given: str, expected: str) -> bool:
    """Whether a CSRF value sent with a form is the session's, compared in constant time. Any
    text may arrive (non-ASCII too): it is compared as UTF-8 bytes, never raises.

    >>> csrf_matches("abc", "abc"), csrf_matches("ab\u00e9", "abc"), csrf_matches("", "abc")
    (True, False, False)
    """
    return hmac.compare_digest(given.encode(), expected.encode())


async def checked_form(request: Request) -> FormData:
    """The POSTed form of a signed-in person, after the CSRF check."""
    session = require_session(request)
    form = await request.form()
    given = request.headers.get(CSRF_HEADER) or str(form.get(CSRF_FIELD) or "")
    if not same_origin(request) or not csrf_matches(given, session.csrf):
        raise CsrfRefused
    return form


Session = Annotated[WebSession, Depends(require_session)]
Form = Annotated[FormData, Depends(checked_form)]
