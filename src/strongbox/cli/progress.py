"""Following a long operation (a backup or a restore) until it ends, with a progress bar."""

from __future__ import annotations

import time
from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from strongbox.cli.client import ApiClient
from strongbox.cli.output import console

POLL_SECONDS = 0.5
ACTIVE = ("queued", "running")


def follow(client: ApiClient, path: str, done_field: str, *, show_progress: bool) -> dict[str, Any]:
    """Poll the resource at `path` until its state is final; show bytes (`done_field` against
    `expected_bytes`) and rate meanwhile. Returns the final resource."""
    resource: dict[str, Any] = client.get(path)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not show_progress) as bar:
        task = bar.add_task(
            f"{resource['name']} {resource['state']}", total=resource["expected_bytes"]
        )
        while resource["state"] in ACTIVE:
            time.sleep(POLL_SECONDS)
            resource = client.get(path)
            bar.update(
                task,
                completed=resource[done_field],
                total=resource["expected_bytes"],
                description=f"{resource['name']} {resource['state']}",
            )
    return resource
