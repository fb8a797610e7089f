"""The storage kinds Strongbox knows, and the API models built from them.

The built-in kinds register themselves when this module is first asked; a kind from elsewhere
(a test's, a plugin's) calls `register` before the application is created. Everything that
depends on the set of kinds (the request union, the update and response models, the form) is
built from here when asked, so that no other module names a kind.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, Field, create_model

from strongbox.errors import invalid
from strongbox.services.fields import AgeRecipients, Description
from strongbox.services.schemas import Input
from strongbox.storage.kind import StorageKind


class StorageOutBase(BaseModel):
    """What every storage shows, whatever its kind; `out_model()` adds the kinds' settings."""

    name: str
    type: str
    description: str
    age_recipients: list[str] = Field(
        default_factory=list, description="age recipients every backup stored here is encrypted to"
    )


_KINDS: dict[str, StorageKind] = {}
_BUILTINS_LOADED = False


def register(kind: StorageKind) -> None:
    """Add a kind. Raises ValueError if its name is taken or one of its fields is declared by
    another kind with a different type (the update and response models hold every field)."""
    _load_builtins()
    if kind.name in _KINDS:
        raise ValueError(f"a storage kind named '{kind.name}' is already registered")
    for other in _KINDS.values():
        for attr in ("update_model", "out_model"):
            mine, theirs = getattr(kind, attr).model_fields, getattr(other, attr).model_fields
            for name in mine.keys() & theirs.keys():
                if mine[name].annotation != theirs[name].annotation:
                    raise ValueError(
                        f"field '{name}' of storage kind '{kind.name}' differs from kind "
                        f"'{other.name}'s: rename it"
                    )
    _KINDS[kind.name] = kind
    _forget_models()


def unregister(name: str) -> None:
    """Remove a kind (for tests that register their own)."""
    _KINDS.pop(name, None)
    _forget_models()


def kinds() -> tuple[StorageKind, ...]:
    """Every registered kind, built-in ones first, in registration order."""
    _load_builtins()
    return tuple(_KINDS.values())


def names() -> frozenset[str]:
    return frozenset(k.name for k in kinds())


def kind_named(name: str) -> StorageKind:
    """The kind called `name`; StrongboxError (INVALID, field `type`) if there is none."""
    for kind in kinds():
        if kind.name == name:
            return kind
    raise invalid(
        f"unknown storage type '{name}': use one of {', '.join(sorted(names()))}",
        field_name="type",
    )


def create_union() -> Any:
    """The request body that registers a storage: one model per kind, told apart by `type`."""
    return _create_union(kinds())


def update_model() -> type[BaseModel]:
    """`StorageUpdate`: every kind's changeable fields, all optional; the service refuses the
    fields that the storage's own kind does not have."""
    return _update_model(kinds())


def out_model() -> type[StorageOutBase]:
    """`StorageOut`: name, type, description, times, and every kind's settings (null where a
    storage's kind has no such field)."""
    return _out_model(kinds())


@cache
def _create_union(all_kinds: tuple[StorageKind, ...]) -> Any:
    models = tuple(k.create_model for k in all_kinds)
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007 - built at runtime


@cache
def _update_model(all_kinds: tuple[StorageKind, ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "description": (Description | None, None),
        "age_recipients": (
            AgeRecipients | None,
            Field(default=None, description="replaces the list; [] stops encrypting"),
        ),
    }
    for kind in all_kinds:
        for name, info in kind.update_model.model_fields.items():
            fields.setdefault(name, (info.annotation, info))
    return create_model(
        "StorageUpdate",
        __base__=Input,
        __doc__="Fields to change; absent fields keep their value. A secret left out keeps "
        "the stored one.",
        **fields,
    )


@cache
def _out_model(all_kinds: tuple[StorageKind, ...]) -> type[StorageOutBase]:
    fields: dict[str, Any] = {}
    for kind in all_kinds:
        for name, info in kind.out_model.model_fields.items():
            fields.setdefault(name, (Optional[info.annotation], None))  # noqa: UP045
    fields["created_at"] = (datetime, ...)
    fields["updated_at"] = (datetime, ...)
    return create_model("StorageOut", __base__=StorageOutBase, **fields)


def _forget_models() -> None:
    _create_union.cache_clear()
    _update_model.cache_clear()
    _out_model.cache_clear()


def _load_builtins() -> None:
    # Imported here, not at the top: the kinds import their backends (boto3), and a module that
    # only needs the registry's functions should not pay for that, nor form an import cycle.
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    from strongbox.storage.filesystem.kind import FILESYSTEM
    from strongbox.storage.s3.kind import S3

    for kind in (S3, FILESYSTEM):
        _KINDS.setdefault(kind.name, kind)
