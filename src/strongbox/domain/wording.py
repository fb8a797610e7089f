"""Durations, sizes and counts in words, as messages and pages show them."""

from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """A duration in words, rounded up to the second below a minute, else to the minute.

    >>> format_duration(45), format_duration(60), format_duration(3_601), format_duration(7_200)
    ('45 s', '1 min', '1 h 01 min', '2 h')
    """
    if seconds < 60:
        return f"{math.ceil(seconds)} s"
    minutes = math.ceil(seconds / 60 - 1e-9)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes:02d} min"


def format_bytes(size: float) -> str:
    """A size in decimal units with three significant digits.

    >>> format_bytes(12_345_678_901), format_bytes(20_000_000), format_bytes(999)
    ('12.3 GB', '20 MB', '999 B')
    """
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.3g} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def plural(n: int, noun: str) -> str:
    """
    >>> plural(1, "run"), plural(3, "run")
    ('1 run', '3 runs')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def sentence(text: str) -> str:
    """The text with its first letter in capitals."""
    return text[:1].upper() + text[1:]
