"""Notification targets: where Strongbox tells people that something needs them."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from strongbox.api.deps import Ctx, NameInPath
from strongbox.api.paging import PageQuery
from strongbox.services import notification_targets
from strongbox.services.paging import Page
from strongbox.services.schemas.notifications import (
    NotificationTargetCreate,
    NotificationTargetOut,
    NotificationTargetUpdate,
    TestSent,
)

router = APIRouter(prefix="/notification-targets", tags=["notifications"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_target(ctx: Ctx, body: NotificationTargetCreate) -> NotificationTargetOut:
    """Add a target: an apprise URL (write-only), the events it wants, every database or one."""
    return notification_targets.create(ctx, body)


@router.get("")
def list_targets(ctx: Ctx, page: PageQuery) -> Page[NotificationTargetOut]:
    """Notification targets, newest first, a page at a time."""
    return notification_targets.page(ctx, page)


@router.get("/{name}")
def get_target(ctx: Ctx, name: NameInPath) -> NotificationTargetOut:
    return notification_targets.get(ctx, name)


@router.patch("/{name}")
def update_target(
    ctx: Ctx, name: NameInPath, body: NotificationTargetUpdate
) -> NotificationTargetOut:
    """Change a target; a URL left out keeps the stored one."""
    return notification_targets.update(ctx, name, body)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_target(ctx: Ctx, name: NameInPath) -> Response:
    notification_targets.delete(ctx, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/test")
def test_target(ctx: Ctx, name: NameInPath) -> TestSent:
    """Send a test message now and say whether the service took it."""
    return notification_targets.send_test(ctx, name)
