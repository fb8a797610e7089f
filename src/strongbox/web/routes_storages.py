"""Settings > Backup Storages: list, add (tested on save), edit, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from strongbox.errors import StrongboxError
from strongbox.services import storages
from strongbox.web import forms
from strongbox.web.paged import page_of
from strongbox.web.render import context_of, render
from strongbox.web.session import Form, Session

router = APIRouter(prefix="/settings/backup-storages", include_in_schema=False)
LIST_URL = "/settings/backup-storages"


@router.get("", response_class=HTMLResponse)
def storage_list(request: Request, session: Session, cursor: str | None = None) -> Response:
    """A page of the backup storages, newest first, with how many backups and schedules use
    each one."""
    ctx = context_of(request)
    page, cursor = page_of(lambda at: storages.page(ctx, at), cursor)
    return render(
        request,
        "storages.html",
        session,
        storages=page.items,
        usage=storages.usage(ctx, [s.name for s in page.items]),
        cursor=cursor,
        next=page.next,
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
    shown, total = storages.users_of(context_of(request), name)
    message = f"Delete backup storage '{name}'? Its artifacts stay in the storage."
    if shown:
        more = f" and {total - len(shown)} more" if total > len(shown) else ""
        message += f" It is still used by {', '.join(shown)}{more}."
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
