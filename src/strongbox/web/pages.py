"""The web page: sign-in, and the routers of each part (storages, databases, backups, schedules,
restores). `install` adds it all, with the static files, to the FastAPI app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from strongbox.api.sign_in_limit import TooManySignIns, sign_in_limited
from strongbox.errors import StrongboxError
from strongbox.services import auth
from strongbox.web import (
    routes_backups,
    routes_databases,
    routes_pitr,
    routes_restores,
    routes_schedules,
    routes_storages,
)
from strongbox.web import session as web_session
from strongbox.web.render import context_of, render
from strongbox.web.session import CsrfRefused, Session, SignInNeeded

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    if web_session.current(request) is not None:
        return RedirectResponse("/databases", status_code=303)
    return render(request, "signin.html")


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, token: Annotated[str, Form()] = "") -> Response:
    if not web_session.same_origin(request):
        raise CsrfRefused
    ctx = context_of(request)
    try:
        principal = sign_in_limited(
            request, lambda: auth.authenticate(ctx, f"Bearer {token.strip()}")
        )
    except StrongboxError as exc:
        return render(request, "signin.html", error=exc.detail, status_code=401)
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
        )
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


def install(app: FastAPI) -> None:
    """Add the page's routes, its static files at /static and its session handling."""
    app.state.web_session_key = web_session.session_key(app.state.context.settings)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        routes_storages,
        routes_databases,
        routes_backups,
        routes_schedules,
        routes_restores,
        routes_pitr,
    ):
        app.include_router(module.router)
    app.include_router(router)
