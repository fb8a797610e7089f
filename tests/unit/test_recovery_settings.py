"""The recovery settings of a new instance, its configuration lines and what its log says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from strongbox.domain.recovery import (
    END_OF_BASE,
    END_OF_WAL,
    TARGET_REACHED,
    InstanceLayout,
    conf_value,
    instance_settings,
    read_recovery_log,
    recovery_settings,
)

LAYOUT = InstanceLayout("/i/data", "/i/socket", "/i/pg_hba.conf", "/i/pg_ident.conf", 6543)


def test_the_end_of_a_base_is_plain_crash_recovery_without_a_signal_file() -> None:
    settings = recovery_settings()
    assert (settings.settings, settings.signal, settings.expected) == ({}, False, END_OF_BASE)


def test_a_point_in_time_writes_every_recovery_setting_and_the_signal() -> None:
    target = datetime(2026, 11, 29, 10, 15, 3, 250000, tzinfo=UTC)
    settings = recovery_settings(
        restore_command="strongbox wal-fetch /i/wal %f %p", target_time=target, target_timeline="2"
    )
    assert settings.signal is True
    assert settings.expected == TARGET_REACHED
    assert settings.settings == {
        "restore_command": "'strongbox wal-fetch /i/wal %f %p'",
        "recovery_target_time": "'2026-11-29 10:15:03.250000+00:00'",
        "recovery_target_timeline": "'2'",
        "recovery_target_action": "'promote'",
    }


@pytest.mark.parametrize(
    "zone",
    [ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=-5))],
)
def test_a_target_time_is_always_written_in_utc_with_its_offset(zone: object) -> None:
    instant = datetime(2026, 11, 29, 10, 15, 3, tzinfo=UTC)
    local = instant.astimezone(zone)  # type: ignore[arg-type]
    settings = recovery_settings(restore_command="x %f %p", target_time=local)
    assert settings.settings["recovery_target_time"] == "'2026-11-29 10:15:03.000000+00:00'"


def test_a_naive_target_time_or_a_target_without_restore_command_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone offset"):
        recovery_settings(restore_command="x %f %p", target_time=datetime(2026, 11, 29))
    with pytest.raises(ValueError, match="restore_command"):
        recovery_settings(target_time=datetime(2026, 11, 29, tzinfo=UTC))
    with pytest.raises(ValueError, match="timeline"):
        recovery_settings(restore_command="x %f %p", target_timeline="1; DROP")


def test_latest_without_a_time_recovers_to_the_end_of_the_wal() -> None:
    settings = recovery_settings(restore_command="x %f %p", target_timeline="latest")
    assert settings.expected == END_OF_WAL
    assert "recovery_target_time" not in settings.settings


def test_values_are_quoted_so_that_no_setting_can_be_smuggled_in() -> None:
    assert conf_value("a'b\\c") == "'a''b\\\\c'"
    with pytest.raises(ValueError, match="line break"):
        conf_value("x'\nport = 1")


def test_the_instance_listens_on_localhost_only_with_archiving_and_replication_off() -> None:
    text = instance_settings(LAYOUT, recovery_settings(restore_command="x %f %p"))
    lines = text.splitlines()
    for line in (
        "port = 6543",
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = '/i/socket'",
        "hba_file = '/i/pg_hba.conf'",
        "archive_mode = off",
        "primary_conninfo = ''",
        "primary_slot_name = ''",
        "restore_command = 'x %f %p'",
    ):
        assert line in lines
    # Later lines win in postgresql.auto.conf: the recovery lines come after the neutral ones.
    assert lines.index("restore_command = 'x %f %p'") > lines.index("archive_mode = off")


def test_the_log_gives_the_stop_the_last_commit_and_fatal_lines() -> None:
    log = read_recovery_log(
        "2026-11-29 10:20:00 UTC [7] LOG:  recovery stopping after commit of transaction 741, "
        "time 2026-11-29 10:15:02.9+00\n"
        "2026-11-29 10:20:00 UTC [7] LOG:  last completed transaction was at log time "
        "2026-11-29 10:15:02.9+00\n"
        "2026-11-29 10:20:01 UTC [7] PANIC:  could not locate a valid checkpoint record\n"
    )
    assert log.stopped == (
        "recovery stopping after commit of transaction 741, time 2026-11-29 10:15:02.9+00"
    )
    assert log.last_commit_log_time == "2026-11-29 10:15:02.9+00"
    assert log.fatal == ["PANIC: could not locate a valid checkpoint record"]
    assert log.ready is False


def test_only_accepting_writes_counts_as_ready_not_a_hot_standby() -> None:
    standby = "LOG:  database system is ready to accept read-only connections\n"
    assert read_recovery_log(standby).ready is False
    promoted = standby + "LOG:  database system is ready to accept connections\n"
    assert read_recovery_log(promoted).ready is True
