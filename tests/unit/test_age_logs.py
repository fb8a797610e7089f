"""Encrypted change-log files (WAL and binlog), without I/O: a file is sealed as one age stream,
a point-in-time restore's identity must open every recipient set its files were stored to, and
an encrypted file stored again after a restart is recognised by its facts, never read back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyrage
import pytest
from pydantic import SecretStr
from pyrage import x25519

from strongbox import age_stream
from strongbox.catalog.models import WalSegment
from strongbox.domain.manifest import ManifestArtifact
from strongbox.errors import StrongboxError
from strongbox.services import restore_keys, stored_logs
from strongbox.services.stored_logs import StoredCopy
from strongbox.storage.base import ObjectInfo

TEAM = x25519.Identity.generate()
ESCROW = x25519.Identity.generate()


def public(identity: x25519.Identity) -> str:
    return str(identity.to_public())


@dataclass
class Log:
    name: str
    encrypted_to: list[str] | None


def base(encrypted_to: list[str] | None) -> ManifestArtifact:
    return ManifestArtifact(
        name="base.tar.zst.age" if encrypted_to else "base.tar.zst",
        key="p/b/base.tar.zst" + (".age" if encrypted_to else ""),
        kind="base",
        format="pg_basebackup-tar",
        raw_bytes=10,
        stored_bytes=10,
        sha256="0" * 64,
        encrypted_to=encrypted_to,
    )


def test_a_sealed_file_is_one_age_stream_that_opens_with_a_recipients_identity() -> None:
    sealed = age_stream.encrypt_bytes(b"compressed WAL", [public(TEAM), public(ESCROW)])
    assert sealed.startswith(b"age-encryption.org/v1\n")
    assert pyrage.decrypt(sealed, [ESCROW]) == b"compressed WAL"


def test_the_identity_must_open_the_base_and_every_recipient_set_of_the_files() -> None:
    plain = [Log("000000010000000000000003", None)]
    assert restore_keys.identities_for([base(None)], None, "b", plain) is None
    team_only = SecretStr(str(TEAM))
    # The stream's recipients changed from TEAM to ESCROW after the base: the later file needs
    # ESCROW's identity, and the refusal names that file and its recipients.
    logs = [
        Log("000000010000000000000003", [public(TEAM)]),
        Log("000000010000000000000004", [public(ESCROW)]),
    ]
    with pytest.raises(StrongboxError) as caught:
        restore_keys.identities_for([base([public(TEAM)])], team_only, "b", logs)
    assert caught.value.code == "age-identity-wrong"
    assert "000000010000000000000004" in str(caught.value)
    assert public(ESCROW) in str(caught.value)
    assert str(TEAM) not in str(caught.value)
    with pytest.raises(StrongboxError) as missing:
        restore_keys.identities_for([base(None)], None, "b", logs)
    assert missing.value.code == "age-identity-missing"
    both = SecretStr(f"{TEAM}\n{ESCROW}\n")
    found = restore_keys.identities_for([base([public(TEAM)])], both, "b", logs)
    assert found is not None
    assert {public(i) for i in found} == {public(TEAM), public(ESCROW)}


class Untouchable:
    """A storage that lists the object but must not read it: the server cannot decrypt what
    it stored."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        return iter([ObjectInfo(k, 4) for k in self.keys if k.startswith(prefix)])

    def get_bytes(self, key: str) -> bytes:
        raise AssertionError(f"{key} was read back")


def test_an_encrypted_file_stored_again_is_compared_by_its_facts_not_read_back() -> None:
    key = "prod/pitr/binlog/mariadb-bin.000002.zst.age"
    row = WalSegment(name="mariadb-bin.000002", key=key, size_bytes=4, encrypted_to=[public(TEAM)])
    storage: Any = Untouchable([key])
    assert stored_logs.stored_copy(storage, row, b"abcd", lambda: True) is StoredCopy.SAME
    assert stored_logs.stored_copy(storage, row, b"abcd", lambda: False) is StoredCopy.OTHER
    assert stored_logs.stored_copy(storage, row, b"abcde", lambda: True) is StoredCopy.OTHER


def test_a_file_whose_object_was_deleted_is_stored_again_not_called_diverged() -> None:
    key = "prod/pitr/wal/000000010000000000000003.zst"
    for encrypted_to in (None, [public(TEAM)]):
        row = WalSegment(name=key[14:38], key=key, size_bytes=4, encrypted_to=encrypted_to)
        # Another object whose key starts with this one's does not count as this one.
        storage: Any = Untouchable([key + ".age"] if encrypted_to is None else [])
        assert stored_logs.stored_copy(storage, row, b"abcd", lambda: True) is StoredCopy.GONE
