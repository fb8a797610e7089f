"""Freshness: has a database gone too long without a successful backup? (pure, no clock)"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class FreshnessChange(StrEnum):
    BREACHED = "breached"  # stale now, and not yet told
    RECOVERED = "recovered"  # fresh again after a breach that was told


def change(
    hours: float | None,
    last_success: datetime | None,
    registered_at: datetime,
    breached: bool,
    now: datetime,
) -> FreshnessChange | None:
    """What to tell about a database watched for `hours`, if anything: each breach once, and
    its end once. A database that never had a success counts from when it was registered, so
    a new one is not reported stale at once.

    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> change(2, t, t, False, t + timedelta(hours=1)) is None
    True
    >>> change(2, t, t, False, t + timedelta(hours=3))
    <FreshnessChange.BREACHED: 'breached'>
    >>> change(2, t, t, True, t + timedelta(hours=3)) is None
    True
    >>> change(2, t + timedelta(hours=3), t, True, t + timedelta(hours=3))
    <FreshnessChange.RECOVERED: 'recovered'>
    >>> change(None, None, t, False, t + timedelta(days=9)) is None
    True
    """
    if hours is None:
        return None
    since = last_success if last_success is not None else registered_at
    stale = now - since > timedelta(hours=hours)
    if stale and not breached:
        return FreshnessChange.BREACHED
    if not stale and breached:
        return FreshnessChange.RECOVERED
    return None
