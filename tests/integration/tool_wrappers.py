"""Fault injection around the real dump tools: a folder whose `pg_dump` runs the real pg_dump and
then misbehaves (dies midway, stalls, or pauses), for STRONGBOX_PG_BIN_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from fixtures.postgres import server_bin_dir

DIES_MIDWAY = """
"$REAL/pg_dump" "$@" | head -c 3000000
echo "pg_dump: error: connection to server was lost" >&2
exit 1
"""

STALLS = """
"$REAL/pg_dump" "$@" | head -c 200000
sleep 120
"""

# A restore tool that reads nothing and never ends.
READS_NOTHING = """
sleep 120
"""

PAUSES = """
"$REAL/pg_dump" "$@" | {{ head -c {first_bytes}; sleep {seconds}; cat; }}
"""


def pg_bin_with(folder: Path, body: str, program: str = "pg_dump") -> Path:
    """Make `folder` a PostgreSQL bin dir whose `program` runs `body` (a shell snippet in which
    $REAL is the real bin dir); every other program is the real one."""
    real = server_bin_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for other in real.iterdir():
        if other.name != program:
            (folder / other.name).symlink_to(other)
    script = folder / program
    script.write_text(
        "#!/bin/sh\n"
        f'REAL="{real}"\n'
        f'if [ "$1" = "--version" ]; then exec "$REAL/{program}" --version; fi\n' + body
    )
    os.chmod(script, 0o755)
    return folder


def counting(body: str, log: Path) -> str:
    """`body`, with a line appended to `log` each time the dump program starts."""
    return f'echo started >> "{log}"\n' + body
