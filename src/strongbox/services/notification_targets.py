"""Register, list, change, remove and test notification targets.

A target's apprise URL holds the service's tokens or passwords: it is stored encrypted with
the secret box, never returned (only apprise's masked form, `url_hint`), never logged.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongbox import notifier
from strongbox.catalog.models import NotificationTarget
from strongbox.errors import conflict, invalid, not_found
from strongbox.services.context import Context
from strongbox.services.notify import Notice
from strongbox.services.paging import Page, PageRequest, fetch
from strongbox.services.schemas.notifications import (
    NotificationTargetCreate,
    NotificationTargetOut,
    NotificationTargetUpdate,
    TestSent,
)


def create(ctx: Context, body: NotificationTargetCreate) -> NotificationTargetOut:
    url, hint = _checked_url(body.url)
    now = ctx.clock.now()
    row = NotificationTarget(
        name=body.name,
        url_encrypted=ctx.secrets.encrypt(url),
        url_hint=hint,
        events=_ordered(body.events),
        database=body.database,
        created_at=now,
        updated_at=now,
    )
    try:
        with ctx.catalog.session() as session:
            if _find(session, body.name) is not None:
                raise _taken(body.name)
            session.add(row)
    except IntegrityError:
        raise _taken(body.name) from None
    return to_out(row)


def page(ctx: Context, request: PageRequest) -> Page[NotificationTargetOut]:
    with ctx.catalog.session() as session:
        rows, after = fetch(
            session,
            select(NotificationTarget),
            NotificationTarget.created_at,
            NotificationTarget.id,
            request,
        )
        return Page[NotificationTargetOut](items=[to_out(r) for r in rows], next=after)


def get(ctx: Context, name: str) -> NotificationTargetOut:
    with ctx.catalog.session() as session:
        return to_out(get_row(session, name))


def update(ctx: Context, name: str, body: NotificationTargetUpdate) -> NotificationTargetOut:
    checked = _checked_url(body.url) if body.url is not None else None
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        if checked is not None:
            row.url_encrypted, row.url_hint = ctx.secrets.encrypt(checked[0]), checked[1]
        if body.events is not None:
            row.events = _ordered(body.events)
        if "database" in body.model_fields_set:
            row.database = body.database
        row.updated_at = ctx.clock.now()
        return to_out(row)


def delete(ctx: Context, name: str) -> None:
    with ctx.catalog.session() as session:
        session.delete(get_row(session, name))


def send_test(ctx: Context, name: str) -> TestSent:
    """One message now, in the request, so that the person sees whether it arrived."""
    with ctx.catalog.session() as session:
        row = get_row(session, name)
        url = ctx.secrets.decrypt(row.url_encrypted)
    notice = Notice(
        "test",
        None,
        "Strongbox: test notification",
        f"This is a test from Strongbox to the notification target '{name}'.",
    )
    if notifier.send(url, notice.title, notice.body):
        return TestSent(delivered=True, detail=f"the test message was handed to '{name}'")
    return TestSent(
        delivered=False,
        detail=f"the service of '{name}' did not take the message: check its URL and that it "
        "is reachable from the Strongbox server (the server log has the service's answer)",
    )


def get_row(session: Session, name: str) -> NotificationTarget:
    row = _find(session, name)
    if row is None:
        raise not_found(
            f"there is no notification target named '{name}': list them with "
            "'strongbox notify list' or GET /api/v1/notification-targets",
            "notification-target-not-found",
        )
    return row


def to_out(row: NotificationTarget) -> NotificationTargetOut:
    return NotificationTargetOut(
        name=row.name,
        url_hint=row.url_hint,
        events=list(row.events),
        database=row.database,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _checked_url(secret: SecretStr) -> tuple[str, str]:
    url = secret.get_secret_value().strip()
    hint = notifier.masked(url) if "\x00" not in url else None
    if hint is None:
        raise invalid(
            "this is not an apprise URL of a known service (e.g. mailto://user:pass@host, "
            "slack://..., ntfy://topic, json://host/path)",
            "notification-url-invalid",
            field_name="body.url",
        )
    return url, hint


def _ordered(events: Sequence[str]) -> list[str]:
    return sorted(set(events))


def _find(session: Session, name: str) -> NotificationTarget | None:
    return session.scalars(
        select(NotificationTarget).where(NotificationTarget.name == name)
    ).first()


def _taken(name: str) -> Exception:
    return conflict(f"a notification target named '{name}' exists already", "name-taken")
