"""How a validation error of these models reads to people: the field it is about, and a message.

The API's problem details and the page's forms both word pydantic's errors through here, so that
a bad field reads the same wherever it was typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from strongbox.domain.frequency import FREQUENCY_TAGS
from strongbox.storage import registry

_UNION_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")


@dataclass(frozen=True)
class FieldMessage:
    """One bad field: its dotted path (as the request spells it) and what is wrong with it."""

    field: str
    message: str


def field_path(loc: Sequence[Any]) -> str:
    """The dotted field of a pydantic error location, without the tags of discriminated unions.
    A leading `body` (FastAPI's location of a request body) is kept.

    >>> field_path(("body", "s3", "bucket")), field_path(("s3", "bucket"))
    ('body.bucket', 'bucket')
    >>> field_path(("frequency", "day", "time")), field_path(("body", "frequency", "week"))
    ('frequency.time', 'body.frequency')
    >>> field_path(())
    ''
    """
    # Tags of discriminated unions (a storage's kind, a frequency's repeat) appear in pydantic's
    # error locations; people know the field only.
    parts = [str(p) for p in loc]
    first = 1 if parts[:1] == ["body"] else 0
    if len(parts) > first and parts[first] in registry.names():
        del parts[first]
    return ".".join(
        p
        for i, p in enumerate(parts)
        if not (i > 0 and parts[i - 1] == "frequency" and p in FREQUENCY_TAGS)
    )


def field_message(error: Mapping[str, Any]) -> FieldMessage:
    """The field and message of one pydantic error (an item of `ValidationError.errors()`).

    >>> field_message({"type": "missing", "loc": ("body", "s3", "bucket"), "msg": "Field required"})
    FieldMessage(field='body.bucket', message='this field is required')
    >>> field_message({"type": "union_tag_invalid", "loc": ("frequency",), "msg": "bad tag",
    ...                "ctx": {"discriminator": "'every'"}})
    FieldMessage(field='frequency.every', message='bad tag')
    >>> field_message({"type": "value_error", "loc": ("cron",), "msg": "Value error, 5 fields"})
    FieldMessage(field='cron', message='5 fields')
    """
    path = field_path(error.get("loc", ()))
    if error.get("type") in _UNION_TAG_ERRORS:
        # The discriminator field itself is what is wrong or missing.
        discriminator = str(error.get("ctx", {}).get("discriminator", "type")).strip("'")
        path = f"{path}.{discriminator}" if path else discriminator
    return FieldMessage(path, _message(error))


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") in ("missing", "union_tag_not_found"):
        return "this field is required"
    if error.get("type") == "extra_forbidden":
        return "unknown field: remove it, or check its spelling"
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")
