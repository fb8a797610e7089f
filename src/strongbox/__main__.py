import sys


def _run() -> None:
    args = sys.argv[1:]
    # The restore_command of a point-in-time restore, run once per WAL file: the one command
    # that skips the CLI (seconds to import) for a module that only copies the staged file.
    if len(args) == 4 and args[0] == "wal-fetch" and not any(a.startswith("-") for a in args):
        from pathlib import Path

        from strongbox.staged_wal import wal_fetch

        sys.exit(wal_fetch(Path(args[1]), args[2], Path(args[3])))
    from strongbox.cli.main import main

    main()


_run()
