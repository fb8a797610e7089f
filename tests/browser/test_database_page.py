"""A database's page in a real browser: Create backup > Now and > Schedule, the schedules box
(Edit, Pause, Delete), warnings in the form, and a restore into a new database."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from browser.helpers import BERLIN_OFFICE_HOURS, add_pg_database, add_s3_storage, back_up
from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def open_create_backup(page: Page, choice: str) -> None:
    page.locator("details.create-backup > summary").click()
    page.get_by_role("menuitem", name=choice).click()


def schedule_menu(page: Page, name: str, item: str) -> None:
    page.get_by_label(f"Actions for schedule {name}").click()
    page.locator(f'[data-schedule="{name}"]').get_by_role("menuitem", name=item).click()


def test_create_backup_now_reaches_succeeded_without_reloading(
    signed_in: Page,
    web: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    page = signed_in
    add_s3_storage(web, seaweed, s3_bucket, "now-bucket")
    add_pg_database(web, pg_server, "now-db", "now_shop", rows=20_000)
    page.goto("/databases/now-db")
    page.evaluate("window.__notReloaded = true")

    open_create_backup(page, "Now")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Create Backup")).to_be_visible()
    name_input = dialog.get_by_label("Name")
    expect(name_input).to_have_value(re.compile(r"^backup-\d{8}-\d{4}-[a-z0-9]{3}$"))
    default_name = name_input.input_value()
    expect(dialog.get_by_label("Storage")).to_have_value("now-bucket")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()

    row = page.locator(f'tr[data-backup="{default_name}"]')
    expect(row).to_contain_text("Succeeded", timeout=60_000)
    expect(row).to_contain_text("now-bucket")
    expect(row).to_contain_text("manual")
    assert page.evaluate("window.__notReloaded") is True

    # What the backup cost its source is charted on the page once it is done.
    page.reload()
    expect(
        page.get_by_role("img", name=f"What backup {default_name} cost its source")
    ).to_be_visible()
    expect(page.locator(".load-chart figcaption")).to_contain_text("read from primary")

    # The storage now refuses deletion, and says which backup uses it.
    page.goto("/settings/backup-storages")
    page.get_by_role("button", name="Delete now-bucket").click()
    expect(dialog).to_contain_text(f"backup now-db/{default_name}")
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog.locator(".alert")).to_contain_text("is in use by backups")


def test_a_daily_schedule_is_created_edited_paused_and_deleted(
    signed_in: Page,
    web: RunningServer,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    page = signed_in
    folder = tmp_path_factory.mktemp("disk")
    web.client.post(
        "/api/v1/backup-storages", json={"type": "filesystem", "name": "disk", "path": str(folder)}
    ).raise_for_status()
    add_pg_database(web, pg_server, "sched-db", "sched_shop")
    page.goto("/databases/sched-db")
    expect(page.get_by_text("0 active schedules.")).to_be_visible()

    open_create_backup(page, "Schedule")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Name")).to_have_value(re.compile(r"^schedule-"))
    dialog.get_by_label("Name").fill("nightly")
    expect(dialog.get_by_label("Time zone")).to_have_value("Europe/Berlin")  # the browser's
    expect(dialog).to_contain_text("Your browser's time zone is Europe/Berlin.")
    expect(dialog.get_by_label("Repeats")).to_have_value("day")
    dialog.get_by_label("At", exact=True).fill("02:00")
    dialog.get_by_label("Retention copies").fill("7")
    preview = dialog.locator("#schedule-preview")
    expect(preview).to_contain_text("Every day at 02:00 (Europe/Berlin)")
    expect(preview.locator(".next-runs li")).to_have_count(5)
    expect(preview.get_by_role("img", name=re.compile("The next 7 days"))).to_be_visible()
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()

    box = page.locator("#schedules-box")
    expect(box.locator("summary").first).to_contain_text("1 active schedule")
    box.locator("summary").first.click()
    item = page.locator('[data-schedule="nightly"]')
    expect(item).to_contain_text("Every day at 02:00 (Europe/Berlin)")
    expect(item).to_contain_text("keeps 7 copies")
    expect(item).to_contain_text("disk")

    schedule_menu(page, "nightly", "Edit")
    expect(dialog.get_by_label("At", exact=True)).to_have_value("02:00")
    expect(dialog.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    dialog.get_by_label("At", exact=True).fill("03:00")
    expect(dialog.locator("#schedule-preview")).to_contain_text("Every day at 03:00")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(item).to_contain_text("Every day at 03:00 (Europe/Berlin)")

    schedule_menu(page, "nightly", "Pause")
    expect(box.locator("summary").first).to_contain_text("0 active schedules")
    expect(item).to_contain_text("Paused")
    schedule_menu(page, "nightly", "Resume")
    expect(box.locator("summary").first).to_contain_text("1 active schedule")

    schedule_menu(page, "nightly", "Delete")
    expect(dialog).to_contain_text("Delete schedule 'nightly'")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("0 active schedules.")).to_be_visible()
    assert web.client.get("/api/v1/databases/sched-db/schedules").json()["items"] == []


def test_the_schedule_form_warns_about_production_hours(
    signed_in: Page,
    web: RunningServer,
    pg_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    page = signed_in
    folder = tmp_path_factory.mktemp("disk")
    web.client.post(
        "/api/v1/backup-storages", json={"type": "filesystem", "name": "disk2", "path": str(folder)}
    ).raise_for_status()
    add_pg_database(web, pg_server, "busy-db", "busy_shop", production_hours=BERLIN_OFFICE_HOURS)
    page.goto("/databases/busy-db")
    open_create_backup(page, "Schedule")
    dialog = page.get_by_role("dialog")
    preview = dialog.locator("#schedule-preview")
    expect(preview).to_contain_text("No overlap")  # 02:00 is outside office hours
    dialog.get_by_label("At", exact=True).fill("10:00")
    warning = preview.locator('[data-code="production_hours"]')
    expect(warning).to_contain_text("production hours")
    # Monday to Friday shaded: 5 windows, or 6 when the week starts and ends inside one.
    bands = preview.locator("svg > rect.tl-production").count()
    assert bands in (5, 6)


def test_restore_a_backup_into_a_new_database(
    signed_in: Page,
    web: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    page = signed_in
    add_s3_storage(web, seaweed, s3_bucket, "restore-bucket")
    add_pg_database(web, pg_server, "rdb", "web_src", rows=321)
    back_up(web, "rdb", "restore-bucket", "first")
    page.goto("/databases/rdb")
    row = page.locator('tr[data-backup="first"]')
    row.get_by_role("button", name="Restore first").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("A new database on the same server")).to_be_checked()
    dialog.get_by_label("New name for web_src").fill("web_copy")
    dialog.get_by_role("button", name="Show plan").click()
    plan = dialog.locator("#restore-plan")
    expect(plan).to_contain_text("nothing has been changed yet")
    expect(plan).to_contain_text("web_src → web_copy")
    plan.get_by_role("button", name="Restore").click()

    expect(page).to_have_url(re.compile(r"tab=restores"))
    expect(page.locator("#restores tbody tr").first).to_contain_text("Succeeded", timeout=60_000)
    assert pg_server.query("SELECT count(*) FROM items", "web_copy") == [(321,)]
    pg_server.execute("DROP DATABASE web_copy")


def test_a_running_backup_is_canceled_with_its_button(
    signed_in: Page,
    web: RunningServer,
    pg_server: PostgresServer,
    seaweed: SeaweedServer,
    s3_bucket: str,
) -> None:
    page = signed_in
    add_s3_storage(web, seaweed, s3_bucket, "cancel-bucket")
    add_pg_database(web, pg_server, "cancel-db", "cancel_shop", rows=400_000)
    # The rate cap keeps the dump running long enough to be canceled on the page.
    web.client.patch(
        "/api/v1/databases/cancel-db", json={"max_rate_mb_per_s": 1}
    ).raise_for_status()
    web.client.post(  # not back_up(): that one waits for the backup to end
        "/api/v1/databases/cancel-db/backups", json={"storage": "cancel-bucket", "name": "long"}
    ).raise_for_status()
    page.goto("/databases/cancel-db")
    row = page.locator('tr[data-backup="long"]')
    expect(row).to_contain_text("Running", timeout=30_000)
    page.get_by_role("button", name="Cancel long").click()
    expect(row).to_contain_text("Canceled", timeout=60_000)
    expect(page.get_by_role("button", name="Cancel long")).to_have_count(0)
    expect(page.locator("#backups")).to_contain_text("Cancel asked for by token:admin")
