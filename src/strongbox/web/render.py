"""Templates and the small formatting filters they use."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from strongbox import __version__
from strongbox.domain.wording import format_bytes, format_duration
from strongbox.services import engine_kinds
from strongbox.services import storage_kinds as registry
from strongbox.services.context import Context
from strongbox.web.session import CSRF_HEADER, WebSession

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# Status is shown with a symbol and a word, never by colour alone.
STATE_SYMBOLS = {
    "succeeded": "✓",
    "failed": "✗",
    "running": "↻",
    "queued": "…",
    "waiting": "…",
    "canceled": "⊘",
    "skipped": "↷",
    "missed": "!",
    "deleted": "-",
}


def _bytes(value: float | None) -> str:
    return "—" if value is None else format_bytes(value)


def _duration(value: float | None) -> str:
    return "—" if value is None else format_duration(value)


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def utc_input(value: datetime) -> str:
    """A time in UTC as a datetime-local input reads it (no offset: the page says UTC).

    >>> from datetime import timedelta, timezone
    >>> utc_input(datetime(2026, 11, 29, 5, 15, 3, 500, tzinfo=timezone(timedelta(hours=-5))))
    '2026-11-29T10:15:03'
    """
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def age(value: datetime | None, now: datetime) -> str:
    """How long ago, in words.

    >>> from datetime import timedelta
    >>> n = datetime(2026, 1, 2, tzinfo=UTC)
    >>> age(n - timedelta(seconds=30), n), age(n - timedelta(hours=3), n), age(None, n)
    ('just now', '3 h ago', 'never')
    """
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    if seconds < 0:
        return "in " + format_duration(-seconds)
    if seconds < 60:
        return "just now"
    return format_duration(seconds) + " ago"


def _state_label(state: str) -> str:
    return f"{STATE_SYMBOLS.get(state, '•')} {state.capitalize()}"


def in_zone(value: datetime, zone: str) -> str:
    """A time in a schedule's zone, with UTC beside it.

    >>> in_zone(datetime(2026, 1, 5, 1, 0, tzinfo=UTC), "Europe/Berlin")
    'Mon 2026-01-05 02:00 Europe/Berlin (01:00 UTC)'
    """
    local = value.astimezone(ZoneInfo(zone))
    text = f"{local:%a %Y-%m-%d %H:%M} {zone}"
    return text if zone == "UTC" else f"{text} ({value.astimezone(UTC):%H:%M} UTC)"


def _pair(value: str) -> tuple[str, str]:
    return (value, value)


templates.env.filters.update(
    bytes=_bytes,
    duration=_duration,
    when=_when,
    utc_input=utc_input,
    in_zone=in_zone,
    state_label=_state_label,
    pair=_pair,
    engine_label=engine_kinds.label,
)
templates.env.globals.update(
    engine_choices=engine_kinds.choices(), engine_port_hint=engine_kinds.port_hint()
)
# The storage forms and lists are drawn from the registered kinds (their labels and fields).
templates.env.globals.update(storage_kinds=registry.kinds, storage_kind=registry.kind_named)


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


def render(
    request: Request,
    name: str,
    session: WebSession | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    now = context_of(request).clock.now()
    base = {
        "version": __version__,
        "session": session,
        "now": now,
        "age": lambda value: age(value, now),
        "hx_headers": json.dumps({CSRF_HEADER: session.csrf}) if session else "{}",
    }
    return templates.TemplateResponse(
        request, name, {**base, **values}, status_code=status_code, headers=headers
    )


def events(response: Response, *names: str) -> Response:
    """Tell htmx on the page that something changed (partials listen for these events)."""
    response.headers["HX-Trigger"] = json.dumps(dict.fromkeys(names, True))
    return response
