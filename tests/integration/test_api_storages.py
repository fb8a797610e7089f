from pathlib import Path
from typing import Any

import pytest

from fixtures.app import RunningServer
from fixtures.seaweed import SeaweedServer
from integration.bodies import s3_storage
from integration.problems import assert_problem, fields_of

pytestmark = pytest.mark.integration


def s3_body(seaweed: SeaweedServer, bucket: str, **overrides: Any) -> dict[str, Any]:
    fields = {"description": "test bucket", "region": "us-east-1", "prefix": "team", **overrides}
    return s3_storage(seaweed, bucket, "main", **fields)


def test_an_s3_storage_is_checked_saved_and_its_secret_never_returned(
    strongbox: RunningServer, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    created = strongbox.client.post("/api/v1/backup-storages", json=s3_body(seaweed, s3_bucket))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "main"
    assert body["bucket"] == s3_bucket
    assert body["verify_tls"] is True
    assert body["force_path_style"] is True
    for response in (
        created,
        strongbox.client.get("/api/v1/backup-storages"),
        strongbox.client.get("/api/v1/backup-storages/main"),
    ):
        assert "secret_access_key" not in response.text
        assert seaweed.secret_key not in response.text
    assert [s["name"] for s in strongbox.client.get("/api/v1/backup-storages").json()["items"]] == [
        "main"
    ]
    # The secret is encrypted at rest too.
    catalog = (strongbox.data_dir / "catalog.sqlite3").read_bytes()
    assert seaweed.secret_key.encode() not in catalog


def test_a_wrong_secret_key_is_refused_with_the_reason(
    strongbox: RunningServer, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    response = strongbox.client.post(
        "/api/v1/backup-storages",
        json=s3_body(seaweed, s3_bucket, secret_access_key="wrong-secret-key"),
    )
    problem = assert_problem(response, 422, "storage-bad-credentials")
    assert "wrong-secret-key" not in response.text
    assert strongbox.client.get("/api/v1/backup-storages").json()["items"] == []
    assert problem["detail"]


def test_a_missing_bucket_is_refused_with_the_reason(
    strongbox: RunningServer, seaweed: SeaweedServer
) -> None:
    response = strongbox.client.post(
        "/api/v1/backup-storages", json=s3_body(seaweed, "no-such-bucket-here")
    )
    problem = assert_problem(response, 422, "storage-no-such-bucket")
    assert "no-such-bucket-here" in problem["detail"]


def test_an_unreachable_endpoint_is_refused_with_the_reason(
    strongbox: RunningServer, seaweed: SeaweedServer, s3_bucket: str, port: int
) -> None:
    response = strongbox.client.post(
        "/api/v1/backup-storages",
        json=s3_body(seaweed, s3_bucket, endpoint_url=f"http://127.0.0.1:{port}"),
    )
    assert_problem(response, 422, "storage-unreachable")


def test_patch_checks_again_and_keeps_the_stored_secret_when_none_is_given(
    strongbox: RunningServer, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    strongbox.client.post("/api/v1/backup-storages", json=s3_body(seaweed, s3_bucket))
    changed = strongbox.client.patch(
        "/api/v1/backup-storages/main", json={"description": "renamed", "prefix": "other"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "renamed"
    assert changed.json()["prefix"] == "other"
    refused = strongbox.client.patch(
        "/api/v1/backup-storages/main", json={"secret_access_key": "bad-one"}
    )
    assert_problem(refused, 422, "storage-bad-credentials")
    # The refused change left the storage as it was, and it still works.
    again = strongbox.client.patch("/api/v1/backup-storages/main", json={"region": "eu-west-1"})
    assert again.status_code == 200, again.text
    assert again.json()["description"] == "renamed"


def test_a_filesystem_storage_is_checked_and_saved(
    strongbox: RunningServer, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    response = strongbox.client.post(
        "/api/v1/backup-storages", json={"type": "filesystem", "name": "local", "path": str(folder)}
    )
    assert response.status_code == 201, response.text
    assert response.json()["path"] == str(folder)
    assert folder.is_dir()
    assert list(folder.iterdir()) == []  # the probe file was removed


def test_an_unwritable_folder_is_refused(strongbox: RunningServer, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    response = strongbox.client.post(
        "/api/v1/backup-storages",
        json={"type": "filesystem", "name": "local", "path": str(blocker / "sub")},
    )
    assert_problem(response, 422, "storage-not-writable")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "s3", "name": "Bad_Name"}, "body.name"),
        ({"type": "ftp", "name": "x"}, "body.type"),
        ({"name": "x", "path": "/tmp/x"}, "body.type"),
        ({"type": "filesystem", "name": "x", "path": "relative/path"}, "body.path"),
        ({"type": "filesystem", "name": "x", "path": "/tmp/x", "colour": "red"}, "body.colour"),
        ({"type": "filesystem", "name": "x"}, "body.path"),
        (
            {
                "type": "s3",
                "name": "x",
                "endpoint_url": "not a url",
                "bucket": "b1",
                "access_key_id": "a",
                "secret_access_key": "s",
            },
            "body.endpoint_url",
        ),
        (
            {
                "type": "s3",
                "name": "x",
                "endpoint_url": "http://h:1",
                "bucket": "b1",
                "access_key_id": "a",
                "secret_access_key": "s",
                "verify_tls": "maybe",
            },
            "body.verify_tls",
        ),
    ],
)
def test_bad_storage_input_names_the_field(
    strongbox: RunningServer, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(strongbox.client.post("/api/v1/backup-storages", json=body), 422)
    assert field in fields_of(problem), problem


def test_malformed_json_is_a_400_problem(strongbox: RunningServer) -> None:
    response = strongbox.client.post(
        "/api/v1/backup-storages",
        content=b'{"type": "s3", ',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, "malformed-json")


def test_an_unknown_storage_is_a_404_problem(strongbox: RunningServer) -> None:
    problem = assert_problem(strongbox.client.get("/api/v1/backup-storages/nope"), 404)
    assert "nope" in problem["detail"]
    assert_problem(strongbox.client.delete("/api/v1/backup-storages/nope"), 404)
    assert_problem(
        strongbox.client.patch("/api/v1/backup-storages/nope", json={"description": "x"}), 404
    )


def test_patch_refuses_fields_of_the_other_storage_type(
    strongbox: RunningServer, tmp_path: Path
) -> None:
    strongbox.client.post(
        "/api/v1/backup-storages",
        json={"type": "filesystem", "name": "local", "path": str(tmp_path / "b")},
    )
    problem = assert_problem(
        strongbox.client.patch("/api/v1/backup-storages/local", json={"bucket": "x1"}), 422
    )
    assert "body.bucket" in fields_of(problem)


def test_a_duplicate_name_is_a_409(strongbox: RunningServer, tmp_path: Path) -> None:
    body = {"type": "filesystem", "name": "local", "path": str(tmp_path / "b")}
    assert strongbox.client.post("/api/v1/backup-storages", json=body).status_code == 201
    assert_problem(strongbox.client.post("/api/v1/backup-storages", json=body), 409, "name-taken")


def test_delete_removes_an_unused_storage(strongbox: RunningServer, tmp_path: Path) -> None:
    body = {"type": "filesystem", "name": "local", "path": str(tmp_path / "b")}
    strongbox.client.post("/api/v1/backup-storages", json=body)
    assert strongbox.client.delete("/api/v1/backup-storages/local").status_code == 204
    assert strongbox.client.get("/api/v1/backup-storages").json()["items"] == []
