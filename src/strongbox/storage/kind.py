"""What a storage kind declares, once, for every layer that deals with storages.

A kind (`s3`, `filesystem`, ...) is one module that builds a `StorageKind` and registers it in
`strongbox.storage.registry`. The services store and open storages through it, the API builds its
request and response models from it, the page renders and reads its form from it: none of them
names a kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from strongbox.domain.partsize import MAX_PARTS
from strongbox.storage.base import BackupStorage
from strongbox.storage.light_open import LightOpen

# Fields every storage has, whatever its kind; a kind's create model declares them too.
COMMON_FIELDS = frozenset({"type", "name", "description", "age_recipients"})


@dataclass(frozen=True)
class OpenOptions:
    """What the server's settings say about opening any storage."""

    data_dir: Path
    timeout: float
    upload_concurrency: int = 2
    # S3's 10,000 parts per object; smaller only in tests (STRONGBOX_TEST_PARTS_PER_OBJECT).
    parts_per_object: int = MAX_PARTS


@dataclass(frozen=True)
class FormField:
    """One input of the "Add/Edit backup storage" form, named like the model's field.

    `widget` chooses the input: "text", "password" (never shown back), "checkbox", "textarea".
    `when_empty` says what an empty input means when editing: "keep" (leave out: the stored
    value stays, as for a secret), "clear" (null: remove the value) or "blank" (send "").
    """

    name: str
    label: str
    widget: Literal["text", "password", "checkbox", "textarea"] = "text"
    hint: str | None = None
    hint_when_editing: str | None = None
    attrs: str = ""
    checked_by_default: bool = False
    when_empty: Literal["keep", "clear", "blank"] = "keep"


@dataclass(frozen=True)
class StorageKind:
    """One kind of backup storage.

    - `create_model`: the request body that registers one (a pydantic model with a
      `type: Literal[name]` field, `name` and `description`); its other fields are the settings,
      except `secret_field`, which is stored encrypted and never shown.
    - `update_model`: the fields a PATCH may change (all optional; `description` is common).
    - `out_model`: the settings shown back (never the secret).
    - `unsettable`: settings that a PATCH with null removes (others keep their value on null).
    - `open`: the backend on stored settings and the decrypted secret; opening does no I/O.
    - `location`: a URL or path people can use with standard tools, for a key prefix.
    - `where`: a short description of the place, for lists.
    - `key_prefix`: the prefix every object key of the storage starts with (`domain/keys.py`
      puts it in front of `{database}/{backup}/`); none by default.
    - `light_open`: how the stream process of a backup opens the same backend without importing
      the kind (`strongbox.storage.light_open`); a kind without one streams its backups in
      the server's own process.
    - `refuse_settings`: raises StrongboxError (INVALID) for settings that are each valid but
      make no sense together; called on create and on every change.
    """

    name: str
    label: str
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    out_model: type[BaseModel]
    open: Callable[[Mapping[str, Any], str | None, OpenOptions], BackupStorage]
    location: Callable[[Mapping[str, Any], str], str]
    where: Callable[[Mapping[str, Any]], str]
    form_fields: tuple[FormField, ...]
    secret_field: str | None = None
    unsettable: frozenset[str] = frozenset()
    refuse_settings: Callable[[Mapping[str, Any]], None] = field(default=lambda _settings: None)
    key_prefix: Callable[[Mapping[str, Any]], str] = field(default=lambda _settings: "")
    light_open: Callable[[Mapping[str, Any], str | None, OpenOptions], LightOpen] | None = None

    @property
    def settings_fields(self) -> tuple[str, ...]:
        """The fields stored as the storage's settings (not the secret, not the common ones)."""
        skip = COMMON_FIELDS | {self.secret_field}
        return tuple(f for f in self.create_model.model_fields if f not in skip)
