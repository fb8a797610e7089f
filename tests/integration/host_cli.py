"""Run the `strongbox` command as a separate process, with only the `STRONGBOX_*` variables a
test gives (none inherited from the test's own environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

STRONGBOX = Path(sys.executable).parent / "strongbox"


def run_cli(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRONGBOX_")}
    return subprocess.run(
        [str(STRONGBOX), *args],
        env={**environment, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
