"""The storage kinds as the entry points see them (the API's models, the page's forms, the CLI's
options), asked of the storage registry so that api/, web/ and cli/ reach no storage module."""

from __future__ import annotations

from strongbox.storage.kind import FormField, StorageKind
from strongbox.storage.registry import (
    create_union,
    kind_named,
    kinds,
    names,
    out_model,
    update_model,
)

__all__ = [
    "FormField",
    "StorageKind",
    "create_union",
    "kind_named",
    "kinds",
    "names",
    "out_model",
    "update_model",
]
