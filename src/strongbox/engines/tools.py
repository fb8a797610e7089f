"""Finding client programs on this machine and reading their versions: the one lookup every
engine uses for its dump and restore tools."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

VERSION_TIMEOUT = 10.0  # seconds for `program --version`

Version = TypeVar("Version")


def path_dirs(search_path: str | None = None) -> list[Path]:
    """The folders of `search_path` (separated like PATH), by default of PATH as it is now."""
    if search_path is None:
        search_path = os.environ.get("PATH", os.defpath)
    return [Path(p) for p in search_path.split(os.pathsep) if p]


def find_programs(program: str, dirs: Iterable[Path]) -> list[Path]:
    """Every runnable file called `program` in `dirs`, in that order, each real file once
    (a link to a program already found is left out)."""
    found: list[Path] = []
    seen: set[Path] = set()
    for folder in dirs:
        path = folder / program
        if not (path.is_file() and os.access(path, os.X_OK)):
            continue
        real = path.resolve()
        if real not in seen:
            seen.add(real)
            found.append(path)
    return found


def probe(path: Path, parse: Callable[[str], Version | None]) -> Version | None:
    """What `parse` reads from the output of `path --version`, or None when the program
    cannot run, fails, takes longer than VERSION_TIMEOUT, or prints what `parse` does not
    recognize (None from `parse`)."""
    try:
        done = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse(done.stdout) if done.returncode == 0 else None
