"""Backup storage in a folder of the Strongbox server."""

from strongbox.storage.filesystem.backend import FilesystemSettings, FilesystemStorage

__all__ = ["FilesystemSettings", "FilesystemStorage"]
