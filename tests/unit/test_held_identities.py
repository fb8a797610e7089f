"""A restore of an encrypted backup run by a process that holds no identity for it fails with
a reason, instead of feeding age bytes to the restore tool."""

from __future__ import annotations

import pytest
from pyrage import x25519

from strongbox.errors import StrongboxError
from strongbox.services import held_identities


def test_an_encrypted_backup_without_a_held_identity_is_refused_with_what_to_do() -> None:
    recipient = str(x25519.Identity.generate().to_public())
    with pytest.raises(StrongboxError) as refused:
        held_identities.require(None, [recipient])
    assert refused.value.code == "age-identity-lost"
    assert "start the restore again with the identity" in str(refused.value)


def test_a_held_identity_or_a_plain_backup_goes_on() -> None:
    identity = x25519.Identity.generate()
    held_identities.require([identity], [str(identity.to_public())])
    held_identities.require(None, [])


def test_identities_are_handed_over_once() -> None:
    identity = x25519.Identity.generate()
    held_identities.hold(4242, [identity])
    assert held_identities.take(4242) == [identity]
    assert held_identities.take(4242) is None  # forgotten once taken
