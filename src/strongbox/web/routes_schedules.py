"""A database's schedules: the box of schedules, the Schedule form with its live preview (the
service's dry run and the one-week timeline), Edit, Pause/Resume and Delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from strongbox.domain.names import default_name
from strongbox.domain.slots import slot_epochs
from strongbox.services import databases, schedules, storages
from strongbox.services.context import Context
from strongbox.services.paging import PageRequest
from strongbox.services.schemas import ScheduleOut, ScheduleUpdate
from strongbox.web import forms, timeline
from strongbox.web.paged import page_of
from strongbox.web.render import context_of, events, render
from strongbox.web.routes_databases import TIME_ZONES
from strongbox.web.session import Form, Session

router = APIRouter(prefix="/databases/{database}", include_in_schema=False)
RECENT_RUNS = 10
MAX_RUNS_IN_WEEK = 24 * 7 * 4


@router.get("/partials/schedules", response_class=HTMLResponse)
def schedules_box(
    request: Request, session: Session, database: str, cursor: str | None = None
) -> Response:
    """A page of the database's schedules, each with its most recent runs."""
    ctx = context_of(request)
    page, cursor = page_of(lambda at: schedules.page_for(ctx, database, at), cursor)
    recent = PageRequest(limit=RECENT_RUNS)
    runs = {s.name: schedules.runs_page(ctx, database, s.name, recent).items for s in page.items}
    active, total = schedules.counts(ctx, database)
    return render(
        request,
        "_schedules.html",
        session,
        database=database,
        schedules=page.items,
        runs=runs,
        cursor=cursor,
        next=page.next,
        active=active,
        total=total,
    )


def _form(
    request: Request,
    session: Session,
    database: str,
    values: Any,
    errors: forms.FormErrors | None,
    editing: str | None,
) -> Response:
    return render(
        request,
        "_schedule_form.html",
        session,
        database=database,
        storages=storages.list_all(context_of(request)),
        values=values,
        errors=errors,
        editing=editing,
        zones=TIME_ZONES,
    )


def _values_of(schedule: ScheduleOut) -> dict[str, Any]:
    frequency = schedule.frequency or {}
    values: dict[str, Any] = {
        "name": schedule.name,
        "storage": schedule.storage,
        "repeats": forms.repeats_of(schedule.frequency),
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "retention_copies": str(schedule.retention_copies),
    }
    for key in ("minute", "time", "weekday", "day"):
        if key in frequency:
            values[f"frequency.{key}"] = str(frequency[key])
    return values


@router.get("/dialogs/schedule", response_class=HTMLResponse)
def schedule_dialog(
    request: Request, session: Session, database: str, edit: str | None = None
) -> Response:
    ctx = context_of(request)
    if edit is not None:
        values = _values_of(schedules.get(ctx, database, edit))
    else:
        values = {
            "name": default_name("schedule", ctx.clock.now()),
            "repeats": "day",
            "frequency.time": "02:00",
            "retention_copies": "7",
            "timezone": "",  # the page fills in the browser's zone
        }
    return _form(request, session, database, values, None, edit)


def _dry_run(ctx: Context, database: str, form: Form) -> ScheduleOut:
    editing = forms.text(form, "editing")
    if editing:
        return schedules.update(ctx, database, editing, forms.schedule_update(form), dry_run=True)
    return schedules.create(ctx, database, forms.schedule_create(form), dry_run=True)


def week_picture(ctx: Context, database: str, schedule: ScheduleOut) -> timeline.Timeline:
    """The one-week timeline of `schedule` among the database's other enabled schedules."""
    start = ctx.clock.now()
    end = start + timeline.WEEK

    def runs(cron: str, zone: str) -> list[datetime]:
        epochs = slot_epochs(cron, zone, start, end, limit=MAX_RUNS_IN_WEEK)
        return [datetime.fromtimestamp(e, UTC) for e in epochs]

    this = runs(schedule.cron, schedule.timezone)
    lanes = [timeline.LaneInput(schedule.name, this, current=True)]
    for other in schedules.list_for(ctx, database):
        if other.name != schedule.name and other.enabled:
            lanes.append(timeline.LaneInput(other.name, runs(other.cron, other.timezone)))
    hours = databases.get(ctx, database).production_hours
    return timeline.build(
        start, lanes, schedule.estimated_duration.seconds, hours, schedule.timezone
    )


@router.post("/schedules/preview", response_class=HTMLResponse)
def preview(request: Request, session: Session, form: Form, database: str) -> Response:
    ctx = context_of(request)
    with forms.Refusal() as refused:
        out = _dry_run(ctx, database, form)
    if refused.errors is not None:
        return render(request, "_schedule_preview.html", session, out=None, errors=refused.errors)
    return render(
        request,
        "_schedule_preview.html",
        session,
        out=out,
        errors=None,
        picture=week_picture(ctx, database, out),
    )


@router.post("/schedules", response_class=HTMLResponse)
def create(request: Request, session: Session, form: Form, database: str) -> Response:
    with forms.Refusal() as refused:
        schedules.create(context_of(request), database, forms.schedule_create(form))
    if refused.errors is not None:
        return _form(request, session, database, form, refused.errors, None)
    return events(Response(), "strongbox:close-dialog", "schedules-changed")


@router.post("/schedules/{name}", response_class=HTMLResponse)
def save(request: Request, session: Session, form: Form, database: str, name: str) -> Response:
    with forms.Refusal() as refused:
        schedules.update(context_of(request), database, name, forms.schedule_update(form))
    if refused.errors is not None:
        return _form(request, session, database, form, refused.errors, name)
    return events(Response(), "strongbox:close-dialog", "schedules-changed")


@router.post("/schedules/{name}/pause", response_class=HTMLResponse)
def pause(request: Request, session: Session, form: Form, database: str, name: str) -> Response:
    schedules.update(context_of(request), database, name, ScheduleUpdate(enabled=False))
    return schedules_box(request, session, database)


@router.post("/schedules/{name}/resume", response_class=HTMLResponse)
def resume(request: Request, session: Session, form: Form, database: str, name: str) -> Response:
    schedules.update(context_of(request), database, name, ScheduleUpdate(enabled=True))
    return schedules_box(request, session, database)


@router.get("/schedules/{name}/delete", response_class=HTMLResponse)
def confirm_delete(request: Request, session: Session, database: str, name: str) -> Response:
    return render(
        request,
        "_confirm.html",
        session,
        title="Delete schedule",
        message=f"Delete schedule '{name}' of database '{database}'? The backups it made are kept.",
        action=f"/databases/{database}/schedules/{name}/delete",
        button="Delete",
        error=None,
    )


@router.post("/schedules/{name}/delete", response_class=HTMLResponse)
def delete(request: Request, session: Session, form: Form, database: str, name: str) -> Response:
    schedules.delete(context_of(request), database, name)
    return events(Response(), "strongbox:close-dialog", "schedules-changed")
