"""Restores: the Restore dialog (from the backup or from a point in time; same database or a new
one; the dry-run plan, which names the base a point in time uses, is shown before confirming)
and the Restores tab."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from strongbox.domain.states import ACTIVE_STATES
from strongbox.errors import StrongboxError
from strongbox.services import backups, cancels, databases, pitr, restore_rows, restores
from strongbox.services.context import Context
from strongbox.services.schemas import RestorePlanOut
from strongbox.web import forms
from strongbox.web.paged import page_of
from strongbox.web.render import context_of, events, render
from strongbox.web.session import Form, Session

router = APIRouter(prefix="/databases/{database}", include_in_schema=False)


def sources_of(ctx: Context, database: str, backup: str) -> list[str]:
    """The database names inside a backup, as its artifacts name them; for a physical base
    (one artifact for the whole cluster), the source's registered databases, which a transfer
    restores."""
    found = backups.get(ctx, database, backup)
    named = sorted({a.dbname for a in found.artifacts if a.dbname})
    return named or sorted(databases.get(ctx, database).databases)


@router.get("/partials/restores", response_class=HTMLResponse)
def restores_table(
    request: Request, session: Session, database: str, cursor: str | None = None
) -> Response:
    """One page of the database's restores (the newest, or the older ones after `cursor`)."""
    ctx = context_of(request)
    page, cursor = page_of(lambda at: restore_rows.page_for(ctx, database, at), cursor)
    active = any(r.state in ACTIVE_STATES for r in page.items)
    return render(
        request,
        "_restores.html",
        session,
        database=database,
        restores=page.items,
        cursor=cursor,
        next=page.next,
        poll="every 1s" if active else "every 10s",
    )


@router.get("/dialogs/restore", response_class=HTMLResponse)
def restore_dialog(request: Request, session: Session, database: str, backup: str) -> Response:
    ctx = context_of(request)
    sources = sources_of(ctx, database, backup)
    values = {"from": "backup", "into": "new", **{f"map.{s}": f"{s}_restored" for s in sources}}
    windows = pitr.get(ctx, database).windows
    return render(
        request,
        "_restore_form.html",
        session,
        database=database,
        backup=backup,
        sources=sources,
        values=values,
        windows=windows,
        engine=databases.get(ctx, database).engine,
        errors=None,
    )


@router.post("/restores/plan", response_class=HTMLResponse)
def plan(request: Request, session: Session, form: Form, database: str) -> Response:
    ctx = context_of(request)
    with forms.Refusal() as refused:
        sources = sources_of(ctx, database, forms.text(form, "backup"))
        body = forms.restore_create(form, sources)
        out = restores.create(ctx, session.principal, database, body, dry_run=True)
    if refused.errors is not None:
        return render(request, "_restore_plan.html", session, plan=None, errors=refused.errors)
    assert isinstance(out, RestorePlanOut)
    return render(request, "_restore_plan.html", session, plan=out, errors=None, database=database)


@router.post("/restores", response_class=HTMLResponse)
def create(request: Request, session: Session, form: Form, database: str) -> Response:
    ctx = context_of(request)
    with forms.Refusal() as refused:
        sources = sources_of(ctx, database, forms.text(form, "backup"))
        restores.create(ctx, session.principal, database, forms.restore_create(form, sources))
    if refused.errors is not None:
        return render(request, "_restore_plan.html", session, plan=None, errors=refused.errors)
    return Response(headers={"HX-Redirect": f"/databases/{database}?tab=restores"})


@router.post("/restores/{name}/cancel", response_class=HTMLResponse)
def cancel(request: Request, session: Session, form: Form, database: str, name: str) -> Response:
    # A restore that ended meanwhile (409) needs no cancel: the refreshed table shows its end.
    with contextlib.suppress(StrongboxError):
        cancels.cancel_restore(context_of(request), session.principal, database, name)
    return events(Response(), "restores-changed")
