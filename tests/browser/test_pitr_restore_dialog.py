"""The Restore dialog's "From a point in time" in a real browser: the windows are listed in UTC
with their bases, the picker refuses a time before them, and the plan preview names the base
the restore will start from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from browser.helpers import add_pg_database
from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from integration.pitr_steps import physical_backup, status, wait

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_restore_dialog_offers_a_point_in_time_and_names_its_base(
    signed_in: Page,
    web: RunningServer,
    pg_server_factory: Callable[..., PostgresServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    page = signed_in
    source = pg_server_factory()
    folder = tmp_path_factory.mktemp("pitr-dialog")
    web.client.post(
        "/api/v1/backup-storages", json={"type": "filesystem", "name": "disk", "path": str(folder)}
    ).raise_for_status()
    add_pg_database(web, source, "pitr-web", "shop")
    web.client.put(
        "/api/v1/databases/pitr-web/pitr",
        json={"enabled": True, "storage": "disk", "upload_interval_seconds": 10},
    ).raise_for_status()
    try:
        wait("streaming", lambda: status(web, "pitr-web")["state"] == "streaming")
        base = physical_backup(web, "pitr-web")["name"]
        [window] = wait("a window", lambda: status(web, "pitr-web")["windows"])
        page.goto("/databases/pitr-web")
        page.locator(f'tr[data-backup="{base}"]').get_by_role(
            "button", name=f"Restore {base}"
        ).click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_label(f"From a backup ({base})")).to_be_checked()
        dialog.get_by_label("From a point in time").check()
        choice = dialog.locator("#pitr-choice")
        expect(choice).to_contain_text("Times are in UTC")
        start = datetime.fromisoformat(window["from"]).strftime("%Y-%m-%d %H:%M:%S")
        expect(choice).to_contain_text(f"{start} to")
        expect(choice).to_contain_text(f"from base {base}")
        # The picker only takes times inside the windows: one before them is not sent.
        picker = dialog.get_by_label("Time (UTC)")
        picker.fill("2000-01-01T00:00:00")
        assert picker.evaluate("input => input.validity.rangeUnderflow") is True
        picker.fill("")
        dialog.get_by_label("Latest: the last stored commit").check()
        dialog.get_by_label("New name for shop").fill("shop_now")
        dialog.get_by_role("button", name="Show plan").click()
        plan = dialog.locator("#restore-plan")
        # The plan checks that the instances' OS user can run the restore_command: allow it time.
        expect(plan.locator("[data-pitr-plan]")).to_contain_text(
            f"from base {base}", timeout=60_000
        )
        expect(plan).to_contain_text("nothing has been changed yet")
    finally:
        web.client.put("/api/v1/databases/pitr-web/pitr", json={"enabled": False})
        source.stop()
