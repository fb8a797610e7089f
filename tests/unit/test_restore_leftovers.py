"""What an interrupted restore tells a person about the databases it may have left, and the names
of the databases an overwrite works with beside its target."""

from __future__ import annotations

import pytest

from strongbox.domain.side_names import MAX_NAME_BYTES, side_names
from strongbox.services.restore_rows import interrupted_state


def test_a_side_database_being_filled_is_named_and_the_target_said_unchanged() -> None:
    text = interrupted_state(
        "prod", [{"target": "app", "action": "overwrite", "side_database": "app__sbx_a1"}]
    )
    assert "app was not changed" in text
    assert "app__sbx_a1 may be left: drop it" in text


def test_a_stop_during_the_swap_names_both_possible_leftovers() -> None:
    text = interrupted_state(
        "prod",
        [
            {
                "target": "app",
                "action": "overwrite",
                "side_database": "app__sbx_a1",
                "previous_database": "app__sbx_a1_old",
            }
        ],
    )
    assert "app__sbx_a1 (an unfinished copy" in text
    assert "app__sbx_a1_old (its old content" in text


def test_an_old_copy_left_after_the_swap_is_named() -> None:
    text = interrupted_state(
        "prod",
        [{"target": "app", "action": "overwrite", "previous_database": "app__sbx_a1_old"}],
    )
    assert "app was restored; its old content may be left as app__sbx_a1_old" in text


def test_only_databases_being_written_in_place_are_called_incomplete() -> None:
    text = interrupted_state(
        "prod",
        [
            {"target": "done", "action": "create", "tables": 1, "rows": 2},
            {"target": "half", "action": "fill", "writing": True},
            {"target": "later", "action": "create"},
        ],
    )
    assert text == "on 'prod': half may be incomplete"
    assert interrupted_state("prod", []) == "on 'prod': no database was being written"


@pytest.mark.parametrize("target", ["app", "a" * 63, "ü" * 40, "日本語" * 10])
def test_side_names_fit_postgresql_and_never_equal_the_target(target: str) -> None:
    names = side_names(target, "0f1e2d")
    assert len(names.side.encode()) <= MAX_NAME_BYTES
    assert len(names.aside.encode()) <= MAX_NAME_BYTES
    assert names.side.endswith("__sbx_0f1e2d")
    assert names.aside == names.side + "_old"
    assert target not in (names.side, names.aside)
    names.side.encode().decode()  # cut on a character boundary


def test_a_side_name_token_must_be_short_ascii() -> None:
    with pytest.raises(ValueError, match="token"):
        side_names("app", "../x")
