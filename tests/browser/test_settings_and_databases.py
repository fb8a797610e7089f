"""Sign-in, Settings > Backup Storages and the Databases view, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fixtures.app import RunningServer
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_it_asks_for_the_token_once_and_signs_out(page: Page, web: RunningServer) -> None:
    page.goto("/databases")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Sign in with token").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    page.get_by_label("API token").fill(web.token)
    page.get_by_role("button", name="Sign in with token").click()
    expect(page.get_by_role("heading", name="Databases", exact=True)).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "strongbox_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    page.goto("/")  # signed in: no second question for the token
    expect(page.get_by_role("heading", name="Databases", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/settings/backup-storages")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_post_without_the_csrf_token_is_refused(signed_in: Page) -> None:
    response = signed_in.request.post(
        "/settings/backup-storages",
        form={"type": "filesystem", "name": "sneaky", "path": "/tmp/sneaky"},
    )
    assert response.status == 403
    assert "CSRF" in response.text()


def test_add_backup_storage_refuses_a_wrong_secret_key_with_the_reason(
    signed_in: Page, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    page = signed_in
    page.get_by_role("link", name="Settings > Backup Storages").click()
    page.get_by_role("button", name="Add backup storage").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Add backup storage")).to_be_visible()
    expect(dialog.get_by_label("Type")).to_have_value("s3")
    dialog.get_by_label("Name", exact=True).fill("seaweed")
    dialog.get_by_label("Endpoint").fill(seaweed.endpoint_url)
    dialog.get_by_label("Bucket").fill(s3_bucket)
    dialog.get_by_label("Access key").fill(seaweed.access_key)
    dialog.get_by_label("Secret key").fill("a-wrong-secret")
    dialog.get_by_label("Force path-style").check()
    dialog.get_by_role("button", name="Save").click()
    alert = dialog.locator(".alert")
    expect(alert).to_contain_text("the access key or secret key was refused")
    expect(dialog.locator("#err-secret_access_key")).to_be_visible()

    dialog.get_by_label("Secret key").fill(seaweed.secret_key)
    dialog.get_by_role("button", name="Save").click()
    row = page.get_by_role("row", name="seaweed")
    expect(row).to_contain_text("S3-compatible")
    expect(row).to_contain_text(s3_bucket)
    expect(row).to_contain_text(seaweed.endpoint_url)
    expect(row).to_contain_text("nothing")

    # Edit with the secret key left empty: the stored secret is kept (the check passes).
    row.get_by_role("button", name="Edit seaweed").click()
    expect(dialog.get_by_label("Secret key")).to_have_value("")
    dialog.get_by_label("Description").fill("SeaweedFS on this machine")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("row", name="seaweed")).to_contain_text("SeaweedFS on this machine")

    page.get_by_role("button", name="Delete seaweed").click()
    expect(dialog).to_contain_text("Delete backup storage 'seaweed'?")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("row", name="seaweed")).to_have_count(0)


def test_add_database_tests_the_connection_and_opens_it(
    signed_in: Page, pg_server: PostgresServer
) -> None:
    page = signed_in
    page.get_by_role("button", name="Add database").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("orders")
    dialog.get_by_label("Engine").select_option("postgresql")
    dialog.get_by_label("Host", exact=True).fill(pg_server.host)
    dialog.get_by_label("Port", exact=True).fill(str(pg_server.port))
    dialog.get_by_label("Username").fill(pg_server.superuser)
    dialog.get_by_label("Password").fill("wrong-password")
    dialog.get_by_label("Databases").fill("postgres")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator(".alert")).to_contain_text("password")

    dialog.get_by_label("Password").fill(pg_server.password)
    dialog.get_by_label("Has production hours").check()
    expect(dialog.get_by_label("From")).to_have_value("08:00")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="orders")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("production hours: Monday to Friday")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Databases").click()
    row = page.get_by_role("row", name="orders")
    expect(row).to_contain_text("PostgreSQL")
    expect(row).to_contain_text("none yet")
    row.get_by_role("link", name="orders").click()
    expect(page.get_by_role("heading", name="orders")).to_be_visible()
