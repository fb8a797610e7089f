"""The "Point-in-time recovery" section of a database's page in a real browser: a refused
interval is shown on its field, enabling shows the stream streaming, disabling turns it off
and drops the slot."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from browser.helpers import add_pg_database
from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_pitr_is_enabled_shown_and_disabled_on_the_database_page(
    signed_in: Page,
    web: RunningServer,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    page = signed_in
    folder = tmp_path_factory.mktemp("wal")
    web.client.post(
        "/api/v1/backup-storages", json={"type": "filesystem", "name": "wal", "path": str(folder)}
    ).raise_for_status()
    add_pg_database(web, pg_server, "pitr-db", "pitr_shop")
    page.goto("/databases/pitr-db")
    section = page.locator("section#pitr")
    expect(section.get_by_role("heading", name="Point-in-time recovery")).to_be_visible()
    expect(section.locator("[data-pitr-state]")).to_have_text("Disabled")

    interval = section.get_by_label("Upload interval (seconds)")
    interval.evaluate("input => input.removeAttribute('min')")
    interval.fill("5")
    section.get_by_role("button", name="Enable point-in-time recovery").click()
    expect(section.locator(".field-error")).to_contain_text("10")
    assert pg_server.query("SELECT count(*) FROM pg_replication_slots")[0][0] == 0

    section.get_by_label("Upload interval (seconds)").fill("10")
    section.get_by_role("button", name="Enable point-in-time recovery").click()
    expect(section.locator("[data-pitr-state]")).to_have_text("Starting")
    page.reload()
    expect(page.locator("section#pitr [data-pitr-state]")).to_have_text("Streaming", timeout=30_000)
    assert pg_server.query(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'strongbox_pitr_db'"
    ) == [(1,)]

    page.locator("section#pitr").get_by_role(
        "button", name="Disable point-in-time recovery"
    ).click()
    expect(page.locator("section#pitr [data-pitr-state]")).to_have_text("Disabled")
    assert pg_server.query(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'strongbox_pitr_db'"
    ) == [(0,)]
