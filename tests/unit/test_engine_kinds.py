"""Engine kinds are declared once (`engines.registry`), and the services, the request schema and
the manifest checks take their facts from there."""

from __future__ import annotations

import pytest

from strongbox.domain.manifest_checks import BASE, DATABASE, GLOBALS, SUFFIX_OF_FORMAT
from strongbox.engines.kind import EngineOptions
from strongbox.engines.registry import ENGINE_NAMES, KINDS, artifact_formats, kind_of
from strongbox.errors import StrongboxError
from strongbox.services.restore_inputs import parallel_jobs_for
from strongbox.services.schemas import DatabaseCreate


def test_the_engines_are_postgresql_and_mysql_with_their_usual_ports() -> None:
    assert ENGINE_NAMES == ("postgresql", "mysql")
    assert {name: kind.default_port for name, kind in KINDS.items()} == {
        "postgresql": 5432,
        "mysql": 3306,
    }


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_each_kind_makes_its_own_engine_and_writes_formats_the_layout_names(name: str) -> None:
    kind = kind_of(name)
    assert kind.make(EngineOptions()).name == name
    assert DATABASE in kind.artifact_formats
    assert set(kind.artifact_formats) <= {DATABASE, GLOBALS, BASE}
    assert set(kind.artifact_formats.values()) <= set(SUFFIX_OF_FORMAT)
    assert artifact_formats()[name] == kind.artifact_formats


def test_an_unknown_engine_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(StrongboxError, match="use one of postgresql, mysql") as caught:
        kind_of("oracle")
    assert caught.value.code == "unknown-engine"


def test_restores_run_in_parallel_only_where_the_kind_says_so() -> None:
    assert parallel_jobs_for("postgresql", 4) == 4
    assert parallel_jobs_for("mysql", 4) == 1
    assert parallel_jobs_for("oracle", 4) == 1
    for name, kind in KINDS.items():
        assert parallel_jobs_for(name, 3) == (3 if kind.parallel_restore else 1)


def test_the_request_schema_offers_exactly_the_registered_engines() -> None:
    schema = DatabaseCreate.model_json_schema()["properties"]["engine"]
    assert schema["enum"] == list(ENGINE_NAMES)
