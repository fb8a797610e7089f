"""The age identity a restore of an encrypted backup is given: checked against the recipients the
catalog recorded for the backup before anything is read or touched, then held in memory by the
restore's job only (never on its row, in a log or in the audit log)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import SecretStr
from pyrage import x25519

from strongbox import age_keys
from strongbox.domain.manifest import ManifestArtifact

FIELD = "body.identity"


class StoredLog(Protocol):
    """A stored WAL or binlog file as its index records it (`WalSegment`)."""

    name: str
    encrypted_to: list[str] | None


def recipients_of(artifacts: Sequence[ManifestArtifact]) -> list[str]:
    """The age recipients the backup's artifacts are encrypted to; empty when none is."""
    return age_keys.merged(*(a.encrypted_to or [] for a in artifacts))


def identities_for(
    artifacts: Sequence[ManifestArtifact],
    identity: SecretStr | None,
    backup: str,
    logs: Sequence[StoredLog] = (),
) -> list[x25519.Identity] | None:
    """The identities that open the backup's artifacts and the stored change-log files `logs`
    a point-in-time restore replays, or None when none is encrypted (an identity given for
    those is not needed and not used). Raises StrongboxError (INVALID, field `body.identity`,
    naming the recipients) when something is encrypted and no identity is given, or the one
    given is not one of the recipients of each encrypted artifact and file."""
    text = identity.get_secret_value() if identity is not None else None
    found: list[x25519.Identity] | None = None
    recipients = recipients_of(artifacts)
    if recipients:
        found = age_keys.require_identity(text, recipients, f"backup '{backup}'", FIELD)
    # Files of one stream share their recipients until someone changes them: check each set once.
    for group, first in _by_recipients(logs).items():
        found = age_keys.require_identity(text, list(group), f"the stored log {first}", FIELD)
    return found


def _by_recipients(logs: Sequence[StoredLog]) -> dict[tuple[str, ...], str]:
    """Each distinct recipient list of the encrypted files in `logs`, with the first file's
    name (for the message)."""
    groups: dict[tuple[str, ...], str] = {}
    for log in logs:
        if log.encrypted_to:
            groups.setdefault(tuple(log.encrypted_to), log.name)
    return groups
