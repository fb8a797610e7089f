"""Settings > Backup Storages: list, add (tested on save), edit, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from strongbox.errors import StrongboxError
from strongbox.services import backups, databases, schedules, storages
from strongbox.services.context import Context
from strongbox.web import forms
from strongbox.web.render import context_of, render
from strongbox.web.session import Form, Session

router = APIRouter(prefix="/settings/backup-storages", include_in_schema=False)
LIST_URL = "/settings/backup-storages"


def usage(ctx: Context) -> dict[str, list[str]]:
    """What uses each storage: backups and schedules, as "db/name" words."""
    used: dict[str, list[str]] = {}
    for db in databases.list_all(ctx):
        for backup in backups.list_for(ctx, db.name):
            used.setdefault(backup.storage, []).append(f"backup {db.name}/{backup.name}")
        for schedule in schedules.list_for(ctx, db.name):
            used.setdefault(schedule.storage, []).append(f"schedule {db.name}/{schedule.name}")
    return used


@router.get("", response_class=HTMLResponse)
def storage_list(request: Request, session: Session) -> Response:
    ctx = context_of(request)
    return render(
        request,
        "storages.html",
        session,
        storages=storages.list_all(ctx),
        usage=usage(ctx),
    )


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, session: Session) -> Response:
    return render(request, "_storage_form.html", session, storage=None, values={}, errors=None)


@router.post("", response_class=HTMLResponse)
def add(request: Request, session: Session, form: Form) -> Response:
    with forms.Refusal() as refused:
        body = forms.storage_create(form)
        storages.create(context_of(request), body)
    if refused.errors is not None:
        return render(
            request, "_storage_form.html", session, storage=None, values=form, errors=refused.errors
        )
    return Response(headers={"HX-Redirect": LIST_URL})


@router.get("/{name}/edit", response_class=HTMLResponse)
def edit_form(request: Request, session: Session, name: str) -> Response:
    storage = storages.get(context_of(request), name)
    values = storage.model_dump(exclude_none=True)
    values["age_recipients"] = "\n".join(storage.age_recipients)
    return render(
        request, "_storage_form.html", session, storage=storage, values=values, errors=None
    )


@router.post("/{name}", response_class=HTMLResponse)
def save(request: Request, session: Session, form: Form, name: str) -> Response:
    ctx = context_of(request)
    storage = storages.get(ctx, name)
    with forms.Refusal() as refused:
        storages.update(ctx, name, forms.storage_update(form, storage.type))
    if refused.errors is not None:
        return render(
            request,
            "_storage_form.html",
            session,
            storage=storage,
            values=form,
            errors=refused.errors,
        )
    return Response(headers={"HX-Redirect": LIST_URL})


@router.get("/{name}/delete", response_class=HTMLResponse)
def confirm_delete(request: Request, session: Session, name: str) -> Response:
    users = usage(context_of(request)).get(name, [])
    message = f"Delete backup storage '{name}'? Its artifacts stay in the storage."
    if users:
        shown = ", ".join(users[:10]) + (f" and {len(users) - 10} more" if len(users) > 10 else "")
        message += f" It is still used by {shown}."
    return render(
        request,
        "_confirm.html",
        session,
        title="Delete backup storage",
        message=message,
        action=f"{LIST_URL}/{name}/delete",
        button="Delete",
        error=None,
    )


@router.post("/{name}/delete", response_class=HTMLResponse)
def delete(request: Request, session: Session, form: Form, name: str) -> Response:
    try:
        storages.delete(context_of(request), name)
    except StrongboxError as exc:
        return render(
            request,
            "_confirm.html",
            session,
            title="Delete backup storage",
            message=f"Backup storage '{name}' was not deleted.",
            action=None,
            button=None,
            error=exc.detail,
        )
    return Response(headers={"HX-Redirect": LIST_URL})
