"""Your account (password, API tokens), Settings > Users and the audit log, on the page.

Plain forms that post and redirect, or show the page again with what was wrong; a token made
here is shown once, in the answer to the form that made it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from strongbox.domain.roles import ROLE_NAMES
from strongbox.services import audit, tokens, users
from strongbox.services.schemas.people import PasswordChange, TokenCreate, UserCreate, UserUpdate
from strongbox.web import forms
from strongbox.web import session as web_session
from strongbox.web.forms import FormErrors, FormLike
from strongbox.web.paged import page_of
from strongbox.web.render import context_of, render
from strongbox.web.session import Form, Session, WebSession

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 50


def _account(
    request: Request,
    session: WebSession,
    *,
    status_code: int = 200,
    cursor: str | None = None,
    **values: Any,
) -> Response:
    ctx = context_of(request)
    page, cursor = page_of(lambda at: tokens.page_for(ctx, session.principal, at), cursor)
    return render(
        request,
        "account.html",
        session,
        status_code=status_code,
        tokens=page.items,
        cursor=cursor,
        next=page.next,
        roles=[r for r in ROLE_NAMES if session.may(r)],
        **{"errors": None, "created": None, "message": None, "values": {}, **values},
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, session: Session, cursor: str | None = None) -> Response:
    return _account(request, session, cursor=cursor)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(request: Request, session: Session, form: Form) -> Response:
    ctx = context_of(request)
    with forms.Refusal() as refused:
        body = forms.validate(
            lambda: PasswordChange.model_validate(
                {
                    "current_password": forms.text(form, "current_password"),
                    "new_password": forms.text(form, "new_password"),
                }
            )
        )
        principal = users.change_own_password(ctx, session.principal, body)
    if refused.errors is not None:
        return _account(request, session, status_code=422, errors=refused.errors)
    # The new password ends every session made before it, this one too: sign in again here.
    new = web_session.new_session(principal, ctx.clock.now())
    response = _account(request, new, message="Your password is changed.")
    web_session.set_cookie(response, request, new)
    return response


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(request: Request, session: Session, form: Form) -> Response:
    ctx = context_of(request)
    with forms.Refusal() as refused:
        body = forms.validate(lambda: TokenCreate.model_validate(_token_fields(ctx, form)))
        created = tokens.create(ctx, session.principal, body)
    if refused.errors is not None:
        return _account(request, session, status_code=422, errors=refused.errors, values=form)
    return _account(request, session, created=created)


def _token_fields(ctx: Any, form: FormLike) -> dict[str, Any]:
    data: dict[str, Any] = {"name": forms.text(form, "name")}
    if forms.text(form, "role"):
        data["role"] = forms.text(form, "role")
    days = forms.text(form, "days")
    if days:
        if not days.isdigit() or not 1 <= int(days) <= 3650:
            raise forms.FormInvalid(
                FormErrors(fields={"days": "give a whole number of days from 1 to 3650"})
            )
        data["expires_at"] = ctx.clock.now() + timedelta(days=int(days))
    return data


@router.post("/account/tokens/{name}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, session: Session, form: Form, name: str) -> Response:
    with forms.Refusal() as refused:
        tokens.revoke(context_of(request), session.principal, name)
    if refused.errors is not None:
        return _account(request, session, status_code=422, errors=refused.errors)
    return RedirectResponse("/account", status_code=303)


def _users(
    request: Request,
    session: WebSession,
    *,
    status_code: int = 200,
    cursor: str | None = None,
    **values: Any,
) -> Response:
    ctx = context_of(request)
    page, cursor = page_of(lambda at: users.page(ctx, at), cursor)
    return render(
        request,
        "users.html",
        session,
        status_code=status_code,
        users=page.items,
        cursor=cursor,
        next=page.next,
        roles=ROLE_NAMES,
        **{"errors": None, "values": {}, **values},
    )


@router.get("/settings/users", response_class=HTMLResponse)
def user_list(request: Request, session: Session, cursor: str | None = None) -> Response:
    return _users(request, session, cursor=cursor)


@router.post("/settings/users", response_class=HTMLResponse)
def add_user(request: Request, session: Session, form: Form) -> Response:
    with forms.Refusal() as refused:
        body = forms.validate(
            lambda: UserCreate.model_validate(
                {
                    "name": forms.text(form, "name"),
                    "role": forms.text(form, "role"),
                    "password": forms.text(form, "password"),
                }
            )
        )
        users.create(context_of(request), body)
    if refused.errors is not None:
        values = {"name": forms.text(form, "name"), "role": forms.text(form, "role")}
        return _users(request, session, status_code=422, errors=refused.errors, values=values)
    return RedirectResponse("/settings/users", status_code=303)


@router.post("/settings/users/{name}", response_class=HTMLResponse)
def change_user(request: Request, session: Session, form: Form, name: str) -> Response:
    data: dict[str, Any] = {"role": forms.text(form, "role") or None}
    if forms.text(form, "password"):
        data["password"] = forms.text(form, "password")
    with forms.Refusal() as refused:
        body = forms.validate(lambda: UserUpdate.model_validate(data))
        users.update(context_of(request), name, body)
    if refused.errors is not None:
        return _users(request, session, status_code=422, errors=refused.errors)
    return RedirectResponse("/settings/users", status_code=303)


@router.post("/settings/users/{name}/delete", response_class=HTMLResponse)
def remove_user(request: Request, session: Session, form: Form, name: str) -> Response:
    with forms.Refusal() as refused:
        users.delete(context_of(request), name)
    if refused.errors is not None:
        return _users(request, session, status_code=422, errors=refused.errors)
    return RedirectResponse("/settings/users", status_code=303)


@router.get("/settings/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: Session,
    actor: str = "",
    action: str = "",
    outcome: str = "",
    before: int | None = None,
) -> Response:
    filters = audit.Filters(
        actor=actor.strip() or None,
        action=action.strip() or None,
        outcome=outcome if outcome in audit.OUTCOMES else None,
    )
    found = audit.query(context_of(request), filters, limit=AUDIT_PAGE, before=before)
    return render(
        request,
        "audit.html",
        session,
        page=found,
        filters={"actor": actor, "action": action, "outcome": outcome},
        outcomes=audit.OUTCOMES,
    )
