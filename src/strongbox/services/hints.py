"""Where people find and add things, worded for every entry point (the web page, the CLI and the
API), so that a service's message is true whichever of them shows it.

>>> print(list_backups("shop"))
list them on the Backups tab of database 'shop', with `strongbox backup list shop` or with GET /api/v1/databases/shop/backups
"""  # noqa: E501

from __future__ import annotations


def list_storages() -> str:
    return (
        "list them in Settings > Backup Storages, with `strongbox storage list` "
        "or with GET /api/v1/backup-storages"
    )


def add_storage() -> str:
    return (
        "add it first (Settings > Backup Storages, `strongbox storage add` "
        "or POST /api/v1/backup-storages)"
    )


def list_databases() -> str:
    return "list them on the Databases page, with `strongbox db list` or with GET /api/v1/databases"


def add_database() -> str:
    return (
        "register it first (Databases > Add database, `strongbox db add` or POST /api/v1/databases)"
    )


def list_backups(database: str) -> str:
    return (
        f"list them on the Backups tab of database '{database}', with `strongbox backup list "
        f"{database}` or with GET /api/v1/databases/{database}/backups"
    )


def list_schedules(database: str) -> str:
    return (
        f"list them on the page of database '{database}', with `strongbox schedule list "
        f"{database}` or with GET /api/v1/databases/{database}/schedules"
    )


def list_restores(database: str) -> str:
    return (
        f"list them on the Restores tab of database '{database}', with `strongbox restore list "
        f"{database}` or with GET /api/v1/databases/{database}/restores"
    )
