"""The `limit` and `cursor` query parameters every list endpoint takes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from strongbox.services.paging import CURSOR_MAX, PAGE_DEFAULT, PAGE_MAX, PageRequest


def page_query(
    limit: Annotated[
        int, Query(ge=1, le=PAGE_MAX, description="how many items at most on the page")
    ] = PAGE_DEFAULT,
    cursor: Annotated[
        str | None,
        Query(max_length=CURSOR_MAX, description="`next` of the previous page; none: the newest"),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageQuery = Annotated[PageRequest, Depends(page_query)]
