"""A database's "Point-in-time recovery" section: the stream's state, lag, windows and gaps,
and the form that turns it on or off."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from strongbox.services import databases, pitr, storages
from strongbox.web import forms
from strongbox.web.render import context_of, render
from strongbox.web.session import Form, Session

router = APIRouter(prefix="/databases/{database}", include_in_schema=False)


def _section(
    request: Request, session: Session, database: str, values: object, errors: object
) -> Response:
    ctx = context_of(request)
    return render(
        request,
        "_pitr.html",
        session,
        database=database,
        engine=databases.get(ctx, database).engine,
        status=pitr.get(ctx, database),
        storages=storages.list_all(ctx),
        values=values,
        errors=errors,
    )


@router.get("/partials/pitr", response_class=HTMLResponse)
def section(request: Request, session: Session, database: str) -> Response:
    status = pitr.get(context_of(request), database)
    values = {
        forms.PITR_FIELDS + "storage": status.storage or "",
        forms.PITR_FIELDS + "upload_interval_seconds": str(status.upload_interval_seconds),
    }
    return _section(request, session, database, values, None)


@router.post("/pitr", response_class=HTMLResponse)
def change(request: Request, session: Session, form: Form, database: str) -> Response:
    with forms.Refusal() as refused:
        pitr.update(context_of(request), database, forms.pitr_update(form))
    return _section(request, session, database, form, forms.pitr_errors(refused.errors))
