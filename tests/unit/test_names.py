from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongbox.domain.names import default_name, is_valid_name


@pytest.mark.parametrize("name", ["a", "prod", "nightly-eu-1", "a" * 63])
def test_it_accepts_dns_labels_starting_with_a_letter(name: str) -> None:
    assert is_valid_name(name)


@pytest.mark.parametrize(
    "name", ["", "Prod", "1st", "-x", "x-", "a_b", "a.b", "a" * 64, "back up", "é"]
)
def test_it_refuses_names_that_are_not_dns_labels(name: str) -> None:
    assert not is_valid_name(name)


def test_default_name_reads_as_prefix_date_time_and_suffix() -> None:
    name = default_name("backup", datetime(2026, 11, 24, 2, 15, tzinfo=UTC), "k3f")
    assert name == "backup-20261124-0215-k3f"


@given(st.datetimes(timezones=st.just(UTC)))
def test_default_names_are_always_valid_names(now: datetime) -> None:
    assert is_valid_name(default_name("backup", now))


def test_two_default_names_in_the_same_minute_differ() -> None:
    now = datetime(2026, 11, 24, 2, 15, tzinfo=UTC)
    assert len({default_name("backup", now) for _ in range(50)}) > 40
