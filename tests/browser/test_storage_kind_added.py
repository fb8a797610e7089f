"""Settings > Backup Storages draws the form of a storage kind that only the test suite declares
(`fixtures/shelf_storage.py`): its type, fields and hints come from the kind, nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.shelf_storage import registered

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The module's server, created while the shelf kind is registered."""
    with registered():
        running, server = start_server(tmp_path_factory.mktemp("web") / "data")
        try:
            yield running
        finally:
            stop_server(running, server)


def test_a_storage_of_a_kind_declared_in_one_module_is_added_and_edited_on_the_page(
    signed_in: Page, tmp_path: Path
) -> None:
    page = signed_in
    folder = tmp_path / "shelf"
    page.get_by_role("link", name="Settings > Backup Storages").click()
    page.get_by_role("button", name="Add backup storage").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Type").select_option(label="Test shelf")
    # The other kinds' fields are hidden; the shelf's are shown with their hints.
    expect(dialog.get_by_label("Bucket")).to_be_hidden()
    expect(dialog.get_by_label("Shelf folder")).to_be_visible()
    expect(dialog).to_contain_text("one flat folder for every object")
    dialog.get_by_label("Name", exact=True).fill("shelf")
    dialog.get_by_label("Shelf folder").fill("relative/shelf")
    dialog.get_by_label("Shelf key").fill("k" * 20)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#err-shelf_dir")).to_contain_text("absolute")

    dialog.get_by_label("Shelf folder").fill(str(folder))
    dialog.get_by_label("Shelf key").fill("k" * 20)
    dialog.get_by_role("button", name="Save").click()
    row = page.get_by_role("row", name="shelf")
    expect(row).to_contain_text("Test shelf")
    expect(row).to_contain_text(f"shelf {folder}")
    assert folder.is_dir()

    # Editing shows only the shelf's fields; an empty key keeps the stored one.
    row.get_by_role("button", name="Edit shelf").click()
    expect(dialog).to_contain_text("Type: Test shelf")
    expect(dialog.get_by_label("Shelf folder")).to_have_value(str(folder))
    expect(dialog.get_by_label("Shelf key")).to_have_value("")
    expect(dialog).to_contain_text("leave empty to keep the stored key")
    expect(dialog.get_by_label("Bucket")).to_have_count(0)
    dialog.get_by_label("Description").fill("a shelf of the tests")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("row", name="shelf")).to_contain_text("a shelf of the tests")
