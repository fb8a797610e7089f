"""Failed sign-in attempts per client address (clock passed in)."""

from __future__ import annotations

from strongbox.domain.attempts import FailureLimiter


def test_a_client_is_refused_after_the_limit_until_its_oldest_failure_leaves_the_window() -> None:
    limiter = FailureLimiter(max_failures=3, window_seconds=300)
    for t in (0.0, 100.0, 200.0):
        assert limiter.retry_after("a", t) is None
        limiter.record_failure("a", t)
    assert limiter.retry_after("a", 250.0) == 50  # the failure at 0 leaves at 300
    assert limiter.retry_after("a", 299.5) == 1  # rounded up: never 0
    assert limiter.retry_after("a", 300.0) is None
    limiter.record_failure("a", 300.0)
    assert limiter.retry_after("a", 301.0) == 99  # now the failure at 100 is the oldest


def test_clients_are_counted_apart() -> None:
    limiter = FailureLimiter(max_failures=2, window_seconds=60)
    limiter.record_failure("a", 0.0)
    limiter.record_failure("a", 1.0)
    assert limiter.retry_after("a", 2.0) is not None
    assert limiter.retry_after("b", 2.0) is None


def test_a_success_forgets_the_failures() -> None:
    limiter = FailureLimiter(max_failures=2, window_seconds=60)
    limiter.record_failure("a", 0.0)
    limiter.record_success("a")
    limiter.record_failure("a", 1.0)
    assert limiter.retry_after("a", 2.0) is None


def test_memory_is_bounded_in_clients_and_failures() -> None:
    limiter = FailureLimiter(max_failures=2, window_seconds=60, max_clients=3)
    for client in ("a", "b", "c", "d"):
        limiter.record_failure(client, 0.0)
        limiter.record_failure(client, 0.0)
    assert limiter.retry_after("a", 1.0) is None  # the address seen longest ago was dropped
    assert all(limiter.retry_after(c, 1.0) is not None for c in ("b", "c", "d"))
    for _ in range(100):
        limiter.record_failure("d", 1.0)
    assert len(limiter._failures["d"]) == 2
    assert limiter.retry_after("d", 61.5) is None
    assert "d" not in limiter._failures  # expired entries are removed, not kept empty
