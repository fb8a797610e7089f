"""A parallel PostgreSQL restore that starts while the artifact streams: which `pg_restore` runs
read the archive from its start as it arrives (its table of contents, the schema, the rows in
several shares at once), and which one reads the whole verified copy afterwards (the post-data
section with `-j`: indexes and constraints built in parallel).

`pg_restore` reads a custom-format archive from a pipe front to back, and loads in parallel only
from a seekable file. Several runs that each read the whole stream and load only their share of
the tables (`-L`) load the rows in parallel anyway: each reads past the others' data."""

from __future__ import annotations

import re
from pathlib import Path

from strongbox.engines.base import EarlyRestorePlan, RestoreCommand

# A line of `pg_restore -l`: "<dump id>; <table oid> <oid> <description> <schema> <name> <owner>".
# The description comes before any name, so a name cannot pass for it.
_TABLE_DATA = re.compile(r"^(\d+); \d+ \d+ TABLE DATA ")
_ENTRY = re.compile(r"^\d+; ")


def plan(streamed: RestoreCommand, from_copy: RestoreCommand) -> EarlyRestorePlan:
    """The plan from `streamed` (a serial `pg_restore` run that reads stdin) and `from_copy`
    (a `pg_restore -j` run that reads the local copy)."""
    return EarlyRestorePlan(
        listing=_with_options(streamed, ("--list",)),
        schema=with_sections(streamed, ("pre-data",)),
        data=with_sections(streamed, ("data",)),
        rest=with_sections(from_copy, ("post-data",)),
        data_script=script_command(streamed),
    )


def data_commands(
    plan_: EarlyRestorePlan, listing: str, jobs: int, folder: Path
) -> list[RestoreCommand]:
    """`plan_.data` split into up to `jobs` runs, each loading a share of the tables of
    `listing` (the output of `plan_.listing`) through a list file written in `folder`. The
    first run also takes every other entry of the data section (sequence values, large
    objects), so the runs together load exactly what one `--section=data` run would."""
    shares = data_shares(listing, jobs)
    if len(shares) < 2:
        return [plan_.data]
    commands = []
    for index, lines in enumerate(shares):
        path = folder / f"data-{index + 1}.list"
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        commands.append(_with_options(plan_.data, ("-L", str(path))))
    return commands


def script_command(streamed: RestoreCommand) -> RestoreCommand:
    """The data section as a script on stdout (`pg_restore --section=data -f -`), reading the
    archive on stdin like `streamed`: the same program, without a database to connect to."""
    return RestoreCommand([streamed.argv[0], "--section=data", "-f", "-"], streamed.env, None)


def data_shares(listing: str, parts: int) -> list[list[str]]:
    """The entry lines of `listing` in up to `parts` lists, in the archive's order: the table
    data entries dealt out in turn (their sizes are not in the listing), every other entry in
    the first list. One list when there are fewer than two tables with data.

    >>> listing = "; comment\\n7; 2615 2200 SCHEMA - public pg\\n"
    >>> listing += "9; 0 16390 TABLE DATA public a pg\\n10; 0 16399 TABLE DATA public b pg\\n"
    >>> listing += "11; 0 0 SEQUENCE SET public a_id_seq pg\\n"
    >>> [[line.split(';')[0] for line in share] for share in data_shares(listing, 2)]
    [['7', '9', '11'], ['10']]
    """
    entries = [line for line in listing.splitlines() if _ENTRY.match(line)]
    tables = [line for line in entries if _TABLE_DATA.match(line)]
    count = max(1, min(parts, len(tables)))
    if count == 1:
        return [entries]
    share_of = {line: index % count for index, line in enumerate(tables)}
    shares: list[list[str]] = [[] for _ in range(count)]
    for line in entries:
        shares[share_of.get(line, 0)].append(line)
    return shares


def with_sections(command: RestoreCommand, sections: tuple[str, ...]) -> RestoreCommand:
    """`command` (a `pg_restore` run) limited to the archive's `sections`."""
    return _with_options(command, tuple(f"--section={section}" for section in sections))


def _with_options(command: RestoreCommand, options: tuple[str, ...]) -> RestoreCommand:
    argv = [command.argv[0], *options, *command.argv[1:]]
    return RestoreCommand(argv, command.env, command.input_path)
