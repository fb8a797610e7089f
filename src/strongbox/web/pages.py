"""The web page: sign-in, and the routers of each part (storages, databases, backups, schedules,
restores, people). `install` adds it all, with the static files, to the FastAPI app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from strongbox.api.sign_in_limit import TooManySignIns, sign_in_limited
from strongbox.errors import StrongboxError
from strongbox.services import auth, users
from strongbox.web import (
    routes_backups,
    routes_databases,
    routes_notifications,
    routes_people,
    routes_pitr,
    routes_restores,
    routes_schedules,
    routes_storages,
)
from strongbox.web import session as web_session
from strongbox.web.render import context_of, render
from strongbox.web.session import CsrfRefused, RoleRefused, Session, SignInNeeded

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    if web_session.current(request) is not None:
        return RedirectResponse("/databases", status_code=303)
    return render(request, "signin.html", users_exist=users.any_exist(context_of(request)))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
) -> Response:
    """Sign in with a user name and password, or with an API token (the bootstrap admin
    token for the first sign-in)."""
    if not web_session.same_origin(request):
        raise CsrfRefused
    ctx = context_of(request)
    name = name.strip()

    def check() -> auth.Principal:
        if token.strip():
            return auth.authenticate(ctx, f"Bearer {token.strip()}")
        return users.sign_in(ctx, name, password)

    try:
        principal = sign_in_limited(request, check)
    except StrongboxError as exc:
        if name and not token.strip() and users.exists(ctx, name):
            request.state.attempted_user = name  # for the audit log: whose password failed
        return render(
            request,
            "signin.html",
            error=exc.detail,
            status_code=401,
            user_name=name,
            users_exist=users.any_exist(ctx),
        )
    except TooManySignIns as exc:
        message = (
            f"Too many failed sign-ins from your address. Try again in about "
            f"{max(1, round(exc.retry_after / 60))} minute(s)."
        )
        return render(
            request,
            "signin.html",
            error=message,
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
            user_name=name,
        )
    request.state.principal = principal
    response = RedirectResponse("/databases", status_code=303)
    new = web_session.new_session(principal, ctx.clock.now())
    web_session.set_cookie(response, request, new)
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: web_session.Form, session: Session) -> Response:
    response = RedirectResponse("/", status_code=303)
    web_session.clear_cookie(response, request)
    return response


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


def _sign_in_needed(request: Request, _exc: Exception) -> Response:
    """No valid session (none, expired, or a cookie that does not verify). A page asked for is
    a redirect to the sign-in form; a form sent is refused with 401 and the sign-in form, since
    what it asked for was not done."""
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": "/"})
    if request.method in ("GET", "HEAD"):
        return RedirectResponse("/", status_code=303)
    return render(
        request,
        "signin.html",
        error="Your session has ended or is not valid: sign in again, then send the form again.",
        status_code=401,
    )


def _csrf_refused(request: Request, _exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        status_code=403,
        title="Refused",
        message="The form was not sent from this page (its CSRF token is missing or old). "
        "Reload the page and try again.",
    )


def _role_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RoleRefused)
    return render(
        request,
        "error.html",
        web_session.current(request),
        status_code=403,
        title="Not allowed",
        message=f"This needs the {exc.needed.value} role; yours does not allow it. Ask an admin.",
    )


def install(app: FastAPI) -> None:
    """Add the page's routes, its static files at /static and its session handling."""
    app.state.web_session_key = web_session.session_key(app.state.context.settings)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(RoleRefused, _role_refused)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        routes_storages,
        routes_databases,
        routes_backups,
        routes_schedules,
        routes_restores,
        routes_pitr,
        routes_people,
        routes_notifications,
    ):
        app.include_router(module.router)
    app.include_router(router)
