"""How a process that imports little opens a storage backend: the stream process of a backup
(`strongbox.stream`) runs without the API, the catalog or the storage kinds' request models,
so it cannot call a kind's `open`. A kind that can be opened there names a function and the
JSON arguments it takes; the server, which decrypted the secret, builds them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from strongbox.storage.base import BackupStorage

# Only Strongbox's own modules may be named: the stream process imports what the spec says.
OWN_MODULES = "strongbox."


@dataclass(frozen=True)
class LightOpen:
    """`function` ("package.module:name") called with `arguments` returns the backend."""

    function: str
    arguments: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"function": self.function, "arguments": self.arguments}


def open_light(spec: dict[str, Any]) -> BackupStorage:
    """The backend `spec` (a `LightOpen.to_json()`) describes. ValueError for anything else.

    >>> open_light({"function": "os:system", "arguments": {}})
    Traceback (most recent call last):
    ...
    ValueError: a storage opener must be one of Strongbox's modules, not 'os:system'
    """
    function = spec.get("function")
    arguments = spec.get("arguments")
    if not isinstance(function, str) or not isinstance(arguments, dict):
        raise ValueError("a storage opener needs a function name and its arguments")
    module_name, _, name = function.partition(":")
    if not module_name.startswith(OWN_MODULES) or not name:
        raise ValueError(f"a storage opener must be one of Strongbox's modules, not '{function}'")
    opener = getattr(importlib.import_module(module_name), name)
    storage: BackupStorage = opener(**arguments)
    return storage
