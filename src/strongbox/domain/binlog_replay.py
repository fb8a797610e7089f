"""The plan of replaying a MySQL/MariaDB binlog range onto a restored logical backup: which
stored files, from which position, up to which time, and the `mariadb-binlog` options that do
it. Pure: the files are fetched and the programs run elsewhere.

Times are UTC throughout: binlog event timestamps are UTC unix seconds, and the reader is run
with TZ=UTC, so `--stop-datetime` (which it reads in its own zone) means the same instant on
any host. Event times are whole seconds, so restoring to `T` replays every event stamped at or
before `T`'s second: the stop is the next whole second (the reader stops at the first event at
or after it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from strongbox.domain.binlog_window import BinlogBase, StoredBinlog, reach_from


@dataclass(frozen=True)
class ReplayPlan:
    base_backup: str
    files: list[str]  # the binlog files to read, in order
    start_position: int  # in the first file
    stop_datetime: str  # UTC, as `--stop-datetime` takes it


def plan_replay(base: BinlogBase, stored: Iterable[StoredBinlog], target: datetime) -> ReplayPlan:
    """The files and positions that take `base` to `target` (a time with a zone). Raises
    ValueError naming the window when `target` is before the base, after the last event stored
    without a hole after it, or the base's position is not stored.

    >>> t = lambda s: datetime(2026, 11, 29, 10, 0, s, tzinfo=UTC)
    >>> files = [StoredBinlog(f"bin.{n:06d}", False, 4, 900, t(n * 10), t(n * 10 + 5), 1)
    ...          for n in (1, 2, 3)]
    >>> base = BinlogBase("b1", "bin.000001", 300, t(8))
    >>> plan = plan_replay(base, files, t(21).replace(microsecond=5))
    >>> plan.files, plan.start_position, plan.stop_datetime
    (['bin.000001', 'bin.000002'], 300, '2026-11-29 10:00:22')
    """
    if target.tzinfo is None:
        raise ValueError("the target time needs a zone (e.g. 2026-11-29T10:00:00Z)")
    target = target.astimezone(UTC)
    reached = reach_from(list(stored), base)
    if reached is None:
        raise ValueError(f"the binlog from backup {base.name!r}'s position is not stored")
    last = max((f.last_event_at for f in reached if f.last_event_at), default=base.taken_at)
    end = max(last, base.taken_at)
    if not base.taken_at <= target <= end:
        raise ValueError(
            f"{target.isoformat()} is outside the window of backup {base.name!r}: "
            f"{base.taken_at.isoformat()} to {end.isoformat()}"
        )
    files: list[str] = []
    for item in reached:
        if files and item.first_event_at is not None and item.first_event_at > target:
            break
        files.append(item.name)
    stop = target.replace(microsecond=0) + timedelta(seconds=1)
    return ReplayPlan(base.name, files, base.position, stop.strftime("%Y-%m-%d %H:%M:%S"))


def reader_options(plan: ReplayPlan, source_db: str, target_db: str, *, mariadb: bool) -> list[str]:
    """The `mariadb-binlog` (`mysqlbinlog`) options of a replay (the files follow them): from
    the base's position, up to the stop time, only `source_db`'s events, renamed to
    `target_db`, with binary logging of the replay off on the target.

    MariaDB's reader keeps the events of `--database` by their name in the log, then renames;
    Oracle's renames first, then keeps the events of the new name.

    >>> plan = ReplayPlan("b1", ["bin.000001"], 300, "2026-11-29 10:00:22")
    >>> reader_options(plan, "shop", "shop_copy", mariadb=True)  # doctest: +NORMALIZE_WHITESPACE
    ['--start-position=300', '--stop-datetime=2026-11-29 10:00:22', '--disable-log-bin',
     '--database=shop', '--rewrite-db=shop->shop_copy']
    >>> reader_options(plan, "shop", "shop_copy", mariadb=False)[3]
    '--database=shop_copy'
    """
    for name in (source_db, target_db):
        if "->" in name or name.startswith("-"):
            raise ValueError(f"database name {name!r} cannot be given to the binlog reader")
    options = [
        f"--start-position={plan.start_position}",
        f"--stop-datetime={plan.stop_datetime}",
        "--disable-log-bin",
        f"--database={source_db if mariadb else target_db}",
    ]
    if target_db != source_db:
        options.append(f"--rewrite-db={source_db}->{target_db}")
    return options
