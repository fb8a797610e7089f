"""The age identity a restore of an encrypted backup is given: checked against the recipients the
catalog recorded for the backup before anything is read or touched, then held in memory by the
restore's job only (never on its row, in a log or in the audit log)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import SecretStr
from pyrage import x25519

from strongbox import age_keys
from strongbox.domain.manifest import ManifestArtifact

FIELD = "body.identity"


def recipients_of(artifacts: Sequence[ManifestArtifact]) -> list[str]:
    """The age recipients the backup's artifacts are encrypted to; empty when none is."""
    return age_keys.merged(*(a.encrypted_to or [] for a in artifacts))


def identities_for(
    artifacts: Sequence[ManifestArtifact], identity: SecretStr | None, backup: str
) -> list[x25519.Identity] | None:
    """The identities that open the backup's artifacts, or None when they are not encrypted
    (an identity given for those is not needed and not used). Raises StrongboxError (INVALID,
    field `body.identity`, naming the recipients) when it is encrypted and no identity is
    given, or the one given is not one of its recipients."""
    recipients = recipients_of(artifacts)
    if not recipients:
        return None
    text = identity.get_secret_value() if identity is not None else None
    return age_keys.require_identity(text, recipients, f"backup '{backup}'", FIELD)
