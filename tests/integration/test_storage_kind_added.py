"""A storage kind added by one module (`fixtures/shelf_storage.py`, which lives in the test suite)
works through the API, the page's form and the storage contract, with nothing else changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.datastructures import MultiDict

from fixtures.app import RunningServer, start_server, stop_server
from fixtures.postgres import PostgresServer
from fixtures.shelf_storage import SHELF, Shelf, ShelfStorageCreate, registered
from integration.bodies import postgres_database
from integration.problems import assert_problem
from integration.seeds import pg_fingerprint, seed_postgres
from integration.test_restore import restore
from integration.test_storage_contract import (  # noqa: F401 - the contract, run on a shelf
    Backend,
    test_a_large_stream_is_stored_whole_from_short_reads,
    test_a_missing_object_is_not_found,
    test_a_stream_that_fails_propagates_its_error_and_leaves_nothing,
    test_an_empty_object_is_an_object,
    test_an_empty_prefix_is_never_deleted,
    test_check_passes_on_a_usable_storage,
    test_delete_prefix_deletes_only_under_the_prefix,
    test_list_is_in_key_order_and_filters_on_the_prefix_as_a_string,
    test_put_bytes_stores_and_replaces_a_small_object,
)
from strongbox.storage import registry
from strongbox.storage.kind import OpenOptions
from strongbox.web import forms

pytestmark = pytest.mark.integration


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    """The contract's backend (the tests imported above run on it): a shelf, opened through the
    registry as the services open it."""
    with registered():
        shelf = registry.kind_named("shelf").open(
            {"shelf_dir": str(tmp_path / "shelf")}, "k" * 20, _options(tmp_path)
        )
        assert isinstance(shelf, Shelf)
        shelf.folder.mkdir()
        yield Backend("shelf", shelf, lambda _prefix: shelf.leftovers())


@pytest.fixture
def with_shelf(tmp_path: Path) -> Iterator[RunningServer]:
    """A server created while the shelf kind is registered."""
    with registered():
        running, server = start_server(tmp_path / "data")
        try:
            yield running
        finally:
            stop_server(running, server)


def test_a_registered_kind_is_known_to_the_registry_only_while_registered() -> None:
    assert "shelf" not in registry.names()
    with registered():
        assert "shelf" in registry.names()
        assert registry.kind_named("shelf") is SHELF
    assert "shelf" not in registry.names()
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.kind_named("s3"))


def test_the_api_creates_lists_changes_and_deletes_a_storage_of_the_new_kind(
    with_shelf: RunningServer, tmp_path: Path
) -> None:
    client = with_shelf.client
    folder = tmp_path / "shelf"
    body = {"type": "shelf", "name": "shelf", "shelf_dir": str(folder), "shelf_key": "k" * 20}

    created = client.post("/api/v1/backup-storages", json=body)

    assert created.status_code == 201, created.text
    shown = created.json()
    assert shown["type"] == "shelf"
    assert shown["shelf_dir"] == str(folder)
    assert "shelf_key" not in shown  # the secret is never shown
    assert folder.is_dir()  # the check ran and left nothing but the folder
    assert list(folder.iterdir()) == []
    assert [s["name"] for s in client.get("/api/v1/backup-storages").json()["items"]] == ["shelf"]
    assert client.get("/api/v1/backup-storages/shelf").json()["shelf_dir"] == str(folder)

    # Its fields are validated by its own model; errors name the field, without the kind's tag.
    bad = client.post("/api/v1/backup-storages", json={**body, "name": "x", "shelf_dir": "rel"})
    assert_problem(bad, 422, "invalid-request")
    assert [e["field"] for e in bad.json()["errors"]] == ["body.shelf_dir"]
    # A field of another kind is refused on change, naming it.
    wrong = client.patch("/api/v1/backup-storages/shelf", json={"bucket": "b"})
    assert_problem(wrong, 422)
    assert wrong.json()["errors"][0]["field"] == "body.bucket"

    moved = tmp_path / "shelf2"
    changed = client.patch("/api/v1/backup-storages/shelf", json={"shelf_dir": str(moved)})
    assert changed.status_code == 200, changed.text
    assert changed.json()["shelf_dir"] == str(moved)
    assert moved.is_dir()

    spec = client.get("/api/v1/openapi.json").json()
    assert "ShelfStorageCreate" in spec["components"]["schemas"]
    assert client.delete("/api/v1/backup-storages/shelf").status_code == 204
    assert client.get("/api/v1/backup-storages").json()["items"] == []


def test_a_database_is_backed_up_into_the_new_kind_and_restored_from_it(
    with_shelf: RunningServer, pg_server: PostgresServer, tmp_path: Path
) -> None:
    seed_postgres(pg_server, "shelved", scale=0.05)
    try:
        _back_up_and_restore(with_shelf, pg_server, tmp_path / "shelf")
    finally:
        pg_server.execute("DROP DATABASE IF EXISTS shelved WITH (FORCE)")
        pg_server.execute("DROP DATABASE IF EXISTS shelved_copy WITH (FORCE)")


def _back_up_and_restore(running: RunningServer, pg_server: PostgresServer, folder: Path) -> None:
    client = running.client
    original = pg_fingerprint(pg_server, "shelved")
    client.post(
        "/api/v1/databases", json=postgres_database(pg_server, ["shelved"])
    ).raise_for_status()
    client.post(
        "/api/v1/backup-storages",
        json={"type": "shelf", "name": "shelf", "shelf_dir": str(folder), "shelf_key": "k" * 20},
    ).raise_for_status()

    client.post(
        "/api/v1/databases/prod/backups", json={"storage": "shelf", "name": "b1"}
    ).raise_for_status()
    backup = running.wait_for_backup("prod", "b1")

    assert backup["state"] == "succeeded", backup["error"]
    assert backup["location"] == f"shelf:{folder}#prod/b1/"
    # The objects lie in the shelf's own flat layout, one file per key.
    keys = [a["key"] for a in backup["artifacts"]] + ["prod/b1/manifest.json"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        "o-" + quote(k, safe="") for k in keys
    )

    restored = restore(running, "prod", backup="b1", database_map={"shelved": "shelved_copy"})
    assert restored["state"] == "succeeded", restored["error"]
    assert pg_fingerprint(pg_server, "shelved_copy") == original


def test_the_page_form_reads_the_new_kinds_fields() -> None:
    # The form is drawn and sent in a browser in tests/browser/test_storage_kind_added.py.
    filled = {"type": "shelf", "name": "s", "shelf_dir": "/srv/shelf", "shelf_key": "k" * 20}
    with registered():
        body: Any = forms.storage_create(MultiDict(filled))
        assert isinstance(body, ShelfStorageCreate)
        assert body.shelf_dir == "/srv/shelf"
        assert body.shelf_key.get_secret_value() == "k" * 20

        with pytest.raises(forms.FormInvalid) as raised:
            forms.storage_create(MultiDict({"type": "shelf", "name": "s", "shelf_dir": "rel"}))
        assert set(raised.value.errors.fields) == {"shelf_dir", "shelf_key"}

        # Editing: an empty key keeps the stored one (it is left out of the change).
        change = forms.storage_update(MultiDict({"shelf_dir": "/srv/b", "shelf_key": ""}), "shelf")
        assert change.model_dump(exclude_unset=True) == {"description": "", "shelf_dir": "/srv/b"}


def _options(tmp_path: Path) -> OpenOptions:
    return OpenOptions(data_dir=tmp_path, timeout=5.0)
