"""The Databases view, "Add database", and a database's page (Backups and Restores tabs)."""

from __future__ import annotations

from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from strongbox.errors import StrongboxError
from strongbox.services import backup_lists, databases, schedules, storages
from strongbox.services.paging import PageRequest
from strongbox.services.schemas import BackupOut
from strongbox.web import chart, forms, load_chart
from strongbox.web.paged import page_of
from strongbox.web.render import context_of, render
from strongbox.web.session import Form, Session

router = APIRouter(include_in_schema=False)
TIME_ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
TIME_ZONES = ["UTC", *TIME_ZONES]
# How many of the newest backups the database page reads for its chart and load figures.
CHART_BACKUPS = 100


def not_found(request: Request, session: Session, exc: StrongboxError) -> Response:
    return render(
        request, "error.html", session, status_code=404, title="Not found", message=exc.detail
    )


@router.get("/databases", response_class=HTMLResponse)
def database_list(request: Request, session: Session, cursor: str | None = None) -> Response:
    """A page of the registered databases, newest first, each with its newest backup and its
    next scheduled one."""
    ctx = context_of(request)
    page, cursor = page_of(lambda at: databases.page(ctx, at), cursor)
    rows = []
    for db in page.items:
        newest = backup_lists.page_for(ctx, db.name, PageRequest(limit=1)).items
        upcoming = [
            s.next_runs[0] for s in schedules.list_for(ctx, db.name) if s.enabled and s.next_runs
        ]
        rows.append(
            {"db": db, "last": newest[0] if newest else None, "next": min(upcoming, default=None)}
        )
    return render(request, "databases.html", session, rows=rows, cursor=cursor, next=page.next)


@router.get("/databases/new", response_class=HTMLResponse)
def new_form(request: Request, session: Session) -> Response:
    return render(request, "_database_form.html", session, values={}, errors=None, zones=TIME_ZONES)


@router.post("/databases", response_class=HTMLResponse)
def add(request: Request, session: Session, form: Form) -> Response:
    with forms.Refusal() as refused:
        body = forms.database_create(form)
        databases.create(context_of(request), body)
    if refused.errors is not None:
        return render(
            request,
            "_database_form.html",
            session,
            values=form,
            errors=refused.errors,
            zones=TIME_ZONES,
        )
    return Response(headers={"HX-Redirect": f"/databases/{body.name}"})


def chart_of(found: list[BackupOut]) -> chart.Chart | None:
    points = [
        chart.Point(
            b.name,
            b.started_at or b.created_at,
            b.stored_bytes or 0,
            b.duration_seconds or 0.0,
        )
        for b in found
        if b.state == "succeeded"
    ]
    return chart.build(points)


@router.get("/databases/{name}", response_class=HTMLResponse)
def database_page(request: Request, session: Session, name: str, tab: str = "backups") -> Response:
    ctx = context_of(request)
    try:
        db = databases.get(ctx, name)
    except StrongboxError as exc:
        return not_found(request, session, exc)
    # The chart and the load figures are of the newest backups: one page, however many there are.
    found = backup_lists.page_for(ctx, name, PageRequest(limit=CHART_BACKUPS)).items
    # Newest first: the latest backup that measured its source.
    measured = next((b for b in found if b.source_load is not None), None)
    return render(
        request,
        "database.html",
        session,
        db=db,
        tab="restores" if tab == "restores" else "backups",
        chart=chart_of(found),
        load_backup=measured,
        load_chart=load_chart.build(
            measured.source_load.model_dump() if measured and measured.source_load else None
        ),
        storage_count=storages.count(ctx),
    )
