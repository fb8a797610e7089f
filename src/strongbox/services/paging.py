"""Lists that scale: pages of a list, newest first, continued by an opaque cursor.

A page is found by keyset (the time column and the id of the last row shown), never by offset:
rows added while someone pages (a new backup at the top) neither repeat a row nor hide one,
and the query costs the same on page 1 and page 1,000.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from strongbox.errors import invalid

PAGE_DEFAULT = 100
PAGE_MAX = 500
CURSOR_MAX = 200  # characters: a cursor is a time and an id, base64-encoded

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `next` is the cursor of the following (older) page, null at the end."""

    items: list[T]
    next: str | None = Field(
        description="pass as `cursor` to get the next (older) page; null on the last page"
    )


@dataclass(frozen=True)
class PageRequest:
    limit: int = PAGE_DEFAULT
    cursor: str | None = None


def encode_cursor(at: datetime, row_id: int) -> str:
    """The cursor that continues after the row (`at`, `row_id`).

    >>> encode_cursor(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 7)
    'WyIyMDI2LTAxLTAyVDAzOjA0OjA1KzAwOjAwIiwgN10'
    """
    text = json.dumps([at.astimezone(UTC).isoformat(), row_id])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The row a cursor continues after; a cursor not made by `encode_cursor` is refused (422
    naming `query.cursor`).

    >>> decode_cursor(encode_cursor(datetime(2026, 1, 2, tzinfo=UTC), 7))
    (datetime.datetime(2026, 1, 2, 0, 0, tzinfo=datetime.timezone.utc), 7)
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_text, row_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError("not a cursor")
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise invalid(
            "this cursor was not given by Strongbox: pass the `next` of the previous page as it "
            "was, or leave it out to start at the newest",
            "cursor-invalid",
            field_name="query.cursor",
        ) from None
    return at.astimezone(UTC), row_id


def fetch(
    session: Session,
    statement: Select[Any],
    at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[int],
    page: PageRequest,
) -> tuple[list[Any], str | None]:
    """The page's rows of `statement` (one model selected), newest first by (`at`, `row_id`),
    and the cursor of the next page (None when this one is the last)."""
    limit = max(1, min(page.limit, PAGE_MAX))
    if page.cursor is not None:
        after_at, after_id = decode_cursor(page.cursor)
        # A row value comparison: SQLite and PostgreSQL walk the (time, id) index with it.
        statement = statement.where(tuple_(at, row_id) < tuple_(after_at, after_id))
    statement = statement.order_by(at.desc(), row_id.desc()).limit(limit + 1)
    rows = list(session.scalars(statement))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(getattr(last, at.key), getattr(last, row_id.key))
