"""People on the page in a real browser: a user signs in with name and password, and a
viewer sees no button that would change something."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from fixtures.app import RunningServer
from integration.bodies import folder_storage
from integration.people import PASSWORD, add_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def sign_in(page: Page, name: str, password: str) -> None:
    page.goto("/")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_user_signs_in_with_name_and_password(page: Page, web: RunningServer) -> None:
    add_user(web, "grace", "operator")
    sign_in(page, "grace", "wrong password here")
    expect(page.get_by_role("alert")).to_contain_text("wrong user name or password")
    sign_in(page, "grace", PASSWORD)
    expect(page.get_by_role("heading", name="Databases", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="grace (operator)")).to_be_visible()
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    page.get_by_role("link", name="grace (operator)").click()
    page.get_by_label("Token name").fill("grace-laptop")
    page.get_by_role("button", name="Make token").click()
    expect(page.locator("code.new-token")).to_contain_text("sbx_")
    expect(page.get_by_role("table", name="API tokens")).to_contain_text("grace-laptop")


def test_a_viewer_does_not_see_the_write_buttons(
    page: Page, web: RunningServer, tmp_path: Path
) -> None:
    web.client.post(
        "/api/v1/backup-storages", json=folder_storage(tmp_path / "b", name="viewer-disk")
    ).raise_for_status()
    add_user(web, "linus", "viewer")
    sign_in(page, "linus", PASSWORD)
    expect(page.get_by_role("heading", name="Databases", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Add database")).to_have_count(0)
    page.get_by_role("link", name="Settings > Backup Storages").click()
    expect(page.get_by_role("rowheader", name="viewer-disk")).to_be_visible()
    expect(page.get_by_role("button", name="Add backup storage")).to_have_count(0)
    expect(page.get_by_role("button", name="Edit viewer-disk")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete viewer-disk")).to_have_count(0)
    page.goto("/settings/users")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
