"""Lists on the page come a page at a time, like the API's: the newest first, then older ones
after the cursor the "Older" link carries."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from strongbox.errors import StrongboxError
from strongbox.services.paging import PAGE_DEFAULT, Page, PageRequest

T = TypeVar("T")


def page_of(
    fetch: Callable[[PageRequest], Page[T]], cursor: str | None, limit: int = PAGE_DEFAULT
) -> tuple[Page[T], str | None]:
    """The page after `cursor` (the newest without one) and the cursor it was found with; a
    cursor mangled in the address starts again at the newest rather than showing an error."""
    if cursor:
        try:
            return fetch(PageRequest(limit=limit, cursor=cursor)), cursor
        except StrongboxError:
            pass
    return fetch(PageRequest(limit=limit)), None
