"""How a new PostgreSQL instance recovers from a physical base, as pure functions: the recovery
settings it starts with, the rest of its configuration, and what its server log says about
the outcome.

One function, `recovery_settings`, writes every recovery setting, for both uses:

- the end of the base (a physical backup restored as it is): nothing at all. The tar holds
  the WAL up to the backup's end and its `backup_label`, so the server's own crash recovery
  replays exactly that WAL and opens the copy, on the source's timeline. (PostgreSQL refuses a
  targeted recovery, `recovery.signal`, without a `restore_command`.)
- a point in time: `recovery.signal`, a `restore_command` that fetches each WAL file,
  `recovery_target_time` (always written in UTC with an explicit offset, so that the server's
  time zone cannot move it), `recovery_target_timeline`, and `recovery_target_action =
  'promote'`, so that the server never stays paused or read-only after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

RECOVERY_SIGNAL = "recovery.signal"
END_OF_BASE = "end-of-base"
TARGET_REACHED = "target-reached"
END_OF_WAL = "end-of-wal"
_TIMELINE = re.compile(r"^(latest|current|[1-9][0-9]{0,9})$")


def conf_value(value: str) -> str:
    """A string as a postgresql.conf value: single-quoted, quotes doubled, no line break.

    >>> conf_value("cp '/x/%f' %p")
    "'cp ''/x/%f'' %p'"
    >>> conf_value("a\\nb")
    Traceback (most recent call last):
    ...
    ValueError: a configuration value cannot hold a line break
    """
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError("a configuration value cannot hold a line break")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def utc_target_time(when: datetime) -> str:
    """A recovery target time as PostgreSQL reads it, in UTC with an explicit offset.

    >>> from datetime import timedelta, timezone
    >>> utc_target_time(datetime(2026, 11, 29, 5, 15, 3, tzinfo=timezone(timedelta(hours=-5))))
    '2026-11-29 10:15:03.000000+00:00'
    >>> utc_target_time(datetime(2026, 11, 29))
    Traceback (most recent call last):
    ...
    ValueError: a recovery target time needs a time zone offset
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a recovery target time needs a time zone offset")
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


@dataclass(frozen=True)
class RecoverySettings:
    """The recovery lines for postgresql.auto.conf, and whether `recovery.signal` is written."""

    settings: dict[str, str]
    signal: bool
    # What the restore expects to reach: END_OF_BASE, TARGET_REACHED or END_OF_WAL.
    expected: str = END_OF_BASE

    def lines(self) -> list[str]:
        return [f"{key} = {value}" for key, value in self.settings.items()]


def recovery_settings(
    *,
    restore_command: str | None = None,
    target_time: datetime | None = None,
    target_timeline: str | None = None,
) -> RecoverySettings:
    """The recovery settings of a new instance (see the module's docstring).

    >>> recovery_settings()
    RecoverySettings(settings={}, signal=False, expected='end-of-base')
    >>> from datetime import timezone
    >>> s = recovery_settings(restore_command="strongbox wal-fetch /i/wal %f %p",
    ...     target_time=datetime(2026, 11, 29, 10, 15, 3, tzinfo=timezone.utc),
    ...     target_timeline="latest")
    >>> for line in s.lines(): print(line)
    restore_command = 'strongbox wal-fetch /i/wal %f %p'
    recovery_target_time = '2026-11-29 10:15:03.000000+00:00'
    recovery_target_timeline = 'latest'
    recovery_target_action = 'promote'
    >>> s.expected
    'target-reached'
    >>> recovery_settings(target_time=datetime(2026, 11, 29, tzinfo=timezone.utc))
    Traceback (most recent call last):
    ...
    ValueError: a recovery target time needs a restore_command to fetch the WAL up to it
    """
    if restore_command is None:
        if target_time is not None or target_timeline is not None:
            raise ValueError(
                "a recovery target time needs a restore_command to fetch the WAL up to it"
            )
        return RecoverySettings({}, signal=False)
    settings = {"restore_command": conf_value(restore_command)}
    if target_time is not None:
        settings["recovery_target_time"] = conf_value(utc_target_time(target_time))
    if target_timeline is not None:
        if not _TIMELINE.match(target_timeline):
            raise ValueError(f"not a recovery target timeline: {target_timeline!r}")
        settings["recovery_target_timeline"] = conf_value(target_timeline)
    settings["recovery_target_action"] = "'promote'"
    expected = TARGET_REACHED if target_time is not None else END_OF_WAL
    return RecoverySettings(settings, signal=True, expected=expected)


# Settings of every instance, whatever it recovers to. Replication and archiving the source had
# are switched off: the copy is nobody's standby and archives nowhere until a person says so.
_NEUTRAL = {
    "archive_mode": "off",
    "archive_command": "''",
    "primary_conninfo": "''",
    "primary_slot_name": "''",
    "synchronous_standby_names": "''",
    "hot_standby": "on",
    "ssl": "off",
    "log_timezone": "'UTC'",
    "logging_collector": "off",
    "log_destination": "'stderr'",
}


@dataclass(frozen=True)
class InstanceLayout:
    """Where a new instance keeps its parts (all inside its own folder)."""

    data_dir: str
    socket_dir: str
    hba_file: str
    ident_file: str
    port: int
    listen_address: str = "127.0.0.1"


def instance_settings(layout: InstanceLayout, recovery: RecoverySettings) -> str:
    """The lines appended to the copy's postgresql.auto.conf (read last, so they win over the
    source's postgresql.conf and its own ALTER SYSTEM lines).

    >>> text = instance_settings(InstanceLayout("/i/data", "/i/socket", "/i/pg_hba.conf",
    ...     "/i/pg_ident.conf", 5544), recovery_settings())
    >>> "port = 5544" in text and "listen_addresses = '127.0.0.1'" in text
    True
    >>> "unix_socket_directories = '/i/socket'" in text and "archive_mode = off" in text
    True
    """
    lines = [
        "# Written by Strongbox for this restored instance; these lines win over the ones above.",
        f"port = {int(layout.port)}",
        f"listen_addresses = {conf_value(layout.listen_address)}",
        f"unix_socket_directories = {conf_value(layout.socket_dir)}",
        f"hba_file = {conf_value(layout.hba_file)}",
        f"ident_file = {conf_value(layout.ident_file)}",
        *(f"{key} = {value}" for key, value in _NEUTRAL.items()),
        *recovery.lines(),
    ]
    return "\n".join(lines) + "\n"


def hba_rules() -> str:
    """The pg_hba.conf Strongbox writes for an instance: password logins (SCRAM or MD5, as each
    role's stored password allows) from this host only, for the source's roles, including
    replication connections so that the instance can itself be backed up physically; local
    socket logins only for the instance's OS user's own role (peer).

    >>> print(hba_rules().splitlines()[-1])
    host replication all ::1/128 md5
    """
    return (
        "# Written by Strongbox: logins from this host only.\n"
        "local all all peer\n"
        "host all all 127.0.0.1/32 md5\n"
        "host all all ::1/128 md5\n"
        "host replication all 127.0.0.1/32 md5\n"
        "host replication all ::1/128 md5\n"
    )


# --- the server log ---

_STOPPING = re.compile(r"LOG:\s+(recovery stopping (?:before|after) .*)$")
_LAST_COMMIT = re.compile(r"last completed transaction was at log time (.+)$")
# Written when the server accepts writes (after crash recovery, or after promotion); a hot
# standby writes "ready to accept read-only connections" instead.
_READY = re.compile(r"database system is ready to accept connections")
_FATAL = re.compile(r"\b(FATAL|PANIC):\s+(.*)$")


@dataclass
class RecoveryLog:
    """What the server log of a recovering instance said."""

    stopped: str | None = None  # "recovery stopping before commit of transaction 9, time ..."
    last_commit_log_time: str | None = None
    ready: bool = False
    fatal: list[str] = field(default_factory=list)


def read_recovery_log(text: str) -> RecoveryLog:
    """The facts of a server log, line by line.

    >>> log = read_recovery_log(
    ...     "2026-11-29 10:20:00.1 UTC [7] LOG:  recovery stopping before commit of "
    ...     "transaction 740, time 2026-11-29 10:15:04.5+00\\n"
    ...     "2026-11-29 10:20:00.2 UTC [7] LOG:  last completed transaction was at log time "
    ...     "2026-11-29 10:15:02.9+00\\n"
    ...     "2026-11-29 10:20:01 UTC [6] LOG:  database system is ready to accept connections\\n")
    >>> log.stopped
    'recovery stopping before commit of transaction 740, time 2026-11-29 10:15:04.5+00'
    >>> log.last_commit_log_time, log.ready, log.fatal
    ('2026-11-29 10:15:02.9+00', True, [])
    >>> read_recovery_log("x [9] FATAL:  could not locate required checkpoint record").fatal
    ['FATAL: could not locate required checkpoint record']
    """
    found = RecoveryLog()
    for line in text.splitlines():
        if m := _STOPPING.search(line):
            found.stopped = m.group(1).strip()
        elif m := _LAST_COMMIT.search(line):
            found.last_commit_log_time = m.group(1).strip()
        elif _READY.search(line):
            found.ready = True
        elif m := _FATAL.search(line):
            found.fatal.append(f"{m.group(1)}: {m.group(2).strip()}")
    return found
