"""Settings > Notifications: list, add, test and remove notification targets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from strongbox.services import notification_targets
from strongbox.services.schemas.notifications import EVENTS, NotificationTargetCreate
from strongbox.web import forms
from strongbox.web.paged import page_of
from strongbox.web.render import context_of, render
from strongbox.web.session import Form, Session, WebSession

router = APIRouter(include_in_schema=False)
PAGE = "/settings/notifications"


def _page(
    request: Request,
    session: WebSession,
    *,
    status_code: int = 200,
    cursor: str | None = None,
    **values: Any,
) -> Response:
    ctx = context_of(request)
    found, cursor = page_of(lambda at: notification_targets.page(ctx, at), cursor)
    return render(
        request,
        "notifications.html",
        session,
        status_code=status_code,
        targets=found.items,
        cursor=cursor,
        next=found.next,
        events=EVENTS,
        **{"errors": None, "values": {}, "sent": None, **values},
    )


@router.get(PAGE, response_class=HTMLResponse)
def target_list(request: Request, session: Session, cursor: str | None = None) -> Response:
    return _page(request, session, cursor=cursor)


@router.post(PAGE, response_class=HTMLResponse)
def add_target(request: Request, session: Session, form: Form) -> Response:
    chosen = [e for e in EVENTS if form.get(f"event-{e}")]
    with forms.Refusal() as refused:
        body = forms.validate(
            lambda: NotificationTargetCreate.model_validate(
                {
                    "name": forms.text(form, "name"),
                    "url": forms.text(form, "url"),
                    "events": chosen or list(EVENTS),
                    "database": forms.text(form, "database") or None,
                }
            )
        )
        notification_targets.create(context_of(request), body)
    if refused.errors is not None:
        values = {"name": forms.text(form, "name"), "database": forms.text(form, "database")}
        return _page(request, session, status_code=422, errors=refused.errors, values=values)
    return RedirectResponse(PAGE, status_code=303)


@router.post(f"{PAGE}/{{name}}/test", response_class=HTMLResponse)
def test_target(request: Request, session: Session, form: Form, name: str) -> Response:
    with forms.Refusal() as refused:
        sent = notification_targets.send_test(context_of(request), name)
    if refused.errors is not None:
        return _page(request, session, status_code=422, errors=refused.errors)
    return _page(request, session, sent=sent)


@router.post(f"{PAGE}/{{name}}/delete", response_class=HTMLResponse)
def remove_target(request: Request, session: Session, form: Form, name: str) -> Response:
    with forms.Refusal() as refused:
        notification_targets.delete(context_of(request), name)
    if refused.errors is not None:
        return _page(request, session, status_code=422, errors=refused.errors)
    return RedirectResponse(PAGE, status_code=303)
