"""The SHA-256 sums of a stream that is stored as one or more objects: of the whole stream (the
manifest's checksum) and of the object being handed out (each stored object's own checksum).

While the first object is handed out, its checksum is the whole stream's so far, so one pass of
SHA-256 serves both; a second hash runs only from the second object on. Most artifacts are one
object, and SHA-256 is about as costly per byte as age's encryption: hashing every byte twice
was a third of the cost of an encrypted stream.
"""

from __future__ import annotations

import hashlib


class StreamHashes:
    def __init__(self) -> None:
        self._whole = hashlib.sha256()
        self._object: hashlib._Hash | None = None  # None: in the first object, hashed by _whole

    def update(self, data: bytes | memoryview) -> None:
        self._whole.update(data)
        if self._object is not None:
            self._object.update(data)

    def next_object(self) -> None:
        """The bytes from now on belong to the next object."""
        self._object = hashlib.sha256()

    def whole(self) -> str:
        return self._whole.hexdigest()

    def current_object(self) -> str:
        return (self._whole if self._object is None else self._object).hexdigest()
