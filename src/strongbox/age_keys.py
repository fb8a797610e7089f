"""Age keys: the recipients (public keys) backups are encrypted to, and the identities (private
keys) a restore is given to decrypt them.

Only X25519 keys are taken (`age1...` recipients, `AGE-SECRET-KEY-1...` identities), the keys
`age-keygen` makes: each is parsed by pyrage, so that a key the `age` tool would refuse is
refused when it is registered, not when a backup runs. An identity is never stored, logged or
echoed: the messages here name recipients only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyrage import IdentityError, RecipientError, x25519

from strongbox.errors import invalid

RECIPIENT_PREFIX = "age1"
IDENTITY_PREFIX = "AGE-SECRET-KEY-1"
MAX_RECIPIENTS = 16
# An identity file of a few keys with comments; far more than that is not an identity file.
MAX_IDENTITY_CHARS = 16 * 1024
IDENTITY_MISSING = "age-identity-missing"
IDENTITY_WRONG = "age-identity-wrong"
IDENTITY_INVALID = "age-identity-invalid"


def recipient_problem(value: str) -> str | None:
    """Why `value` is not an age X25519 recipient, or None when it is one.

    >>> recipient_problem("ssh-ed25519 AAAA")
    "is not an age recipient: it must start with 'age1' (the public key age-keygen prints)"
    >>> recipient_problem("age1qqqq")
    "is not a valid age recipient (invalid Bech32 encoding): copy the whole 'age1...' public key"
    """
    if not value.startswith(RECIPIENT_PREFIX):
        return (
            f"is not an age recipient: it must start with '{RECIPIENT_PREFIX}' "
            "(the public key age-keygen prints)"
        )
    try:
        x25519.Recipient.from_str(value)
    except RecipientError as exc:
        return f"is not a valid age recipient ({exc}): copy the whole 'age1...' public key"
    return None


def merged(*groups: Iterable[str]) -> list[str]:
    """The recipients of every group, each once, in the order first given.

    >>> merged(["age1a", "age1b"], ["age1b", "age1c"])
    ['age1a', 'age1b', 'age1c']
    """
    return list(dict.fromkeys(r for group in groups for r in group))


def parse_identities(text: str, field_name: str) -> list[x25519.Identity]:
    """The identities of an identity file's text (`AGE-SECRET-KEY-1...` lines; blank lines and
    `#` comments skipped). Raises StrongboxError (INVALID, naming `field_name`, never the text)
    when the text holds none or a line is not one."""
    if len(text) > MAX_IDENTITY_CHARS:
        raise invalid(
            f"the age identity is longer than {MAX_IDENTITY_CHARS} characters; give the "
            "identity file age-keygen wrote",
            IDENTITY_INVALID,
            field_name=field_name,
        )
    identities = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(x25519.Identity.from_str(line))
        except IdentityError:
            raise invalid(
                f"line {number} of the age identity is not an age secret key "
                f"('{IDENTITY_PREFIX}...'); give the identity file age-keygen wrote",
                IDENTITY_INVALID,
                field_name=field_name,
            ) from None
    if not identities:
        raise invalid(
            f"the age identity holds no secret key ('{IDENTITY_PREFIX}...')",
            IDENTITY_INVALID,
            field_name=field_name,
        )
    return identities


def require_identity(
    text: str | None, recipients: Sequence[str], what: str, field_name: str
) -> list[x25519.Identity]:
    """The identities of `text` when one of them opens what was encrypted to `recipients`.

    Raises StrongboxError (INVALID, naming `field_name` and the recipients) when no identity is
    given or none matches: decided from the public keys alone, before anything is read or
    touched."""
    names = ", ".join(recipients)
    if text is None or not text.strip():
        raise invalid(
            f"{what} is encrypted to the age recipients {names}: give the identity (private "
            "key) of one of them to restore it",
            IDENTITY_MISSING,
            field_name=field_name,
        )
    identities = parse_identities(text, field_name)
    public = {str(identity.to_public()) for identity in identities}
    if public.isdisjoint(recipients):
        raise invalid(
            f"the age identity given is not one of the recipients {what} is encrypted to "
            f"({names}): give the identity of one of them",
            IDENTITY_WRONG,
            field_name=field_name,
        )
    return identities
