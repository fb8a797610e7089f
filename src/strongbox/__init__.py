"""Strongbox: backups of PostgreSQL and MySQL/MariaDB into S3-compatible storage or a folder."""

__version__ = "0.1.0"
