"""A database's backups: the live table, "Create backup > Now", and deleting a backup."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from strongbox.domain.names import default_name
from strongbox.domain.states import ACTIVE_STATES
from strongbox.errors import StrongboxError
from strongbox.services import backup_lists, backups, cancels, storages
from strongbox.services.schemas import BackupOut
from strongbox.web import forms
from strongbox.web.paged import page_of
from strongbox.web.render import context_of, events, render
from strongbox.web.session import Form, Session

router = APIRouter(prefix="/databases/{database}", include_in_schema=False)
FAST_POLL = "every 1s"
SLOW_POLL = "every 10s"


def rate_of(backup: BackupOut, now_seconds: float) -> float | None:
    """Raw bytes per second read so far by a running backup."""
    if backup.started_at is None:
        return None
    elapsed = now_seconds - backup.started_at.timestamp()
    return backup.progress_bytes / elapsed if elapsed > 0 else None


@router.get("/partials/backups", response_class=HTMLResponse)
def backups_table(
    request: Request, session: Session, database: str, cursor: str | None = None
) -> Response:
    """One page of the database's backups (the newest, or the older ones after `cursor`)."""
    ctx = context_of(request)
    page, cursor = page_of(lambda at: backup_lists.page_for(ctx, database, at), cursor)
    found = page.items
    now = ctx.clock.now().timestamp()
    active = any(b.state in ACTIVE_STATES for b in found)
    return render(
        request,
        "_backups.html",
        session,
        database=database,
        backups=found,
        cursor=cursor,
        next=page.next,
        rates={b.name: rate_of(b, now) for b in found if b.state == "running"},
        poll=FAST_POLL if active else SLOW_POLL,
    )


def _now_dialog(
    request: Request, session: Session, database: str, values: object, errors: object
) -> Response:
    return render(
        request,
        "_backup_now.html",
        session,
        database=database,
        storages=storages.list_all(context_of(request)),
        values=values,
        errors=errors,
    )


@router.get("/dialogs/backup-now", response_class=HTMLResponse)
def now_dialog(request: Request, session: Session, database: str) -> Response:
    name = default_name("backup", context_of(request).clock.now())
    return _now_dialog(request, session, database, {"name": name}, None)


@router.post("/backups", response_class=HTMLResponse)
def create(request: Request, session: Session, form: Form, database: str) -> Response:
    with forms.Refusal() as refused:
        backups.create(context_of(request), database, forms.backup_create(form))
    if refused.errors is not None:
        return _now_dialog(request, session, database, form, refused.errors)
    return events(Response(), "strongbox:close-dialog", "backups-changed")


@router.get("/backups/{name}/delete", response_class=HTMLResponse)
def confirm_delete(request: Request, session: Session, database: str, name: str) -> Response:
    return render(
        request,
        "_confirm.html",
        session,
        title="Delete backup",
        message=f"Delete backup '{name}' of database '{database}'? Its files are removed from "
        "the backup storage; this cannot be undone.",
        action=f"/databases/{database}/backups/{name}/delete",
        button="Delete",
        error=None,
    )


@router.post("/backups/{name}/delete", response_class=HTMLResponse)
def delete(request: Request, session: Session, form: Form, database: str, name: str) -> Response:
    try:
        backups.delete(context_of(request), database, name)
    except StrongboxError as exc:
        return render(
            request,
            "_confirm.html",
            session,
            title="Delete backup",
            message=f"Backup '{name}' was not deleted.",
            action=None,
            button=None,
            error=exc.detail,
        )
    return events(Response(), "strongbox:close-dialog", "backups-changed")


@router.post("/backups/{name}/cancel", response_class=HTMLResponse)
def cancel(request: Request, session: Session, form: Form, database: str, name: str) -> Response:
    # A backup that ended meanwhile (409) needs no cancel: the refreshed table shows its end.
    with contextlib.suppress(StrongboxError):
        cancels.cancel_backup(context_of(request), session.principal, database, name)
    return events(Response(), "backups-changed")
