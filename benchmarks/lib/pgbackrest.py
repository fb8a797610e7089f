"""pgBackRest, the reference for physical backups, set up against a benchmark's own throwaway
PostgreSQL and SeaweedFS (over https: pgBackRest speaks only https to S3).

pgBackRest 2.45 does not match IP addresses in certificates, so the bucket is reached as
`localhost`, a name the test certificate also carries. It runs as the server's OS user, as it
must read the data folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer

STANZA = "bench"


class PgBackRest:
    def __init__(self, pg: PostgresServer, weed: SeaweedServer, bucket: str) -> None:
        binary = shutil.which("pgbackrest")
        if binary is None:
            raise RuntimeError("pgbackrest is not installed: apt-get install pgbackrest")
        self.binary = binary
        self.folder = Path(tempfile.mkdtemp(prefix="strongbox-bench-pgbackrest-"))
        self.folder.chmod(0o755)
        ca_file = self.folder / "ca.pem"
        ca_file.write_text(weed.ca.pem)
        self.config = self.folder / "pgbackrest.conf"
        self.config.write_text(
            "[global]\n"
            "repo1-type=s3\n"
            "repo1-path=/pgbackrest\n"
            f"repo1-s3-bucket={bucket}\n"
            "repo1-s3-endpoint=localhost\n"
            f"repo1-storage-port={weed.ports['s3.port.https']}\n"
            f"repo1-s3-region={weed.region}\n"
            f"repo1-s3-key={weed.access_key}\n"
            f"repo1-s3-key-secret={weed.secret_key}\n"
            "repo1-s3-uri-style=path\n"
            f"repo1-storage-ca-file={ca_file}\n"
            # One full backup kept: each round's backup expires the one before.
            "repo1-retention-full=1\n"
            "compress-type=zst\n"
            "process-max=2\n"
            "start-fast=y\n"
            # The server has no archive_command (Strongbox needs none), so pgBackRest is told
            # not to wait for WAL in its archive: it then stores the data files only, less
            # than Strongbox stores (which adds the WAL to reach consistency).
            "archive-check=n\n"
            "log-level-console=warn\n"
            f"log-path={self.folder}\n"
            f"lock-path={self.folder}\n"
            f"spool-path={self.folder}\n"
            f"\n[{STANZA}]\n"
            f"pg1-path={pg.data_dir}\n"
            f"pg1-port={pg.port}\n"
            f"pg1-socket-path={pg.root}\n"
        )
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.folder)], check=True)
        self.run("stanza-create")

    def command(self, *args: str) -> list[str]:
        return [self.binary, f"--config={self.config}", f"--stanza={STANZA}", *args]

    def run(self, *args: str) -> None:
        argv = self.command(*args)
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"pgbackrest {' '.join(args)}: {done.stdout}{done.stderr}")

    def backup_full(self) -> None:
        self.run("backup", "--type=full")

    def archive_into_repository(self, pg: PostgresServer) -> None:
        """Turn on the server's WAL archive into this repository (archive_mode needs the
        restart; Strongbox's stream needs neither)."""
        push = subprocess.list2cmdline(self.command("archive-push", "%p"))
        pg.execute("ALTER SYSTEM SET archive_mode = on")
        pg.execute(f"ALTER SYSTEM SET archive_command = '{push}'")
        pg.restart()

    def restore_to_time(self, data_dir: Path, target: str) -> None:
        """Restore the newest backup into the empty `data_dir`, set up to recover to `target`
        and then be promoted."""
        self.run(
            "restore",
            f"--pg1-path={data_dir}",
            "--type=time",
            f"--target={target}",
            "--target-action=promote",
        )

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
