"""Strongbox: backups of PostgreSQL and MySQL/MariaDB into S3-compatible storage."""

__version__ = "0.1.0"
