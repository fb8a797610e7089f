"""Where to find things: every hint names the page, the CLI command and the API call."""

from __future__ import annotations

import pytest

from strongbox.services import hints


@pytest.mark.parametrize(
    ("hint", "page", "command", "call"),
    [
        (hints.list_storages(), "Backup Storages", "strongbox storage list", "GET /api/v1/backup"),
        (hints.add_storage(), "Backup Storages", "strongbox storage add", "POST /api/v1/backup"),
        (hints.list_databases(), "Databases page", "strongbox db list", "GET /api/v1/databases"),
        (hints.add_database(), "Add database", "strongbox db add", "POST /api/v1/databases"),
        (hints.list_backups("shop"), "Backups tab", "strongbox backup list shop", "/shop/backups"),
        (
            hints.list_schedules("shop"),
            "page of",
            "strongbox schedule list shop",
            "/shop/schedules",
        ),
        (
            hints.list_restores("shop"),
            "Restores tab",
            "strongbox restore list shop",
            "/shop/restores",
        ),
    ],
)
def test_each_hint_names_every_entry_point(hint: str, page: str, command: str, call: str) -> None:
    assert page in hint
    assert f"`{command}`" in hint
    assert call in hint
