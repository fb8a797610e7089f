"""The storage registry: kinds by name, and the API models it builds from every kind."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from fixtures.shelf_storage import SHELF, registered
from strongbox.errors import ErrorKind, StrongboxError
from strongbox.storage import registry


class BucketAsNumber(BaseModel):
    bucket: int


def test_an_unknown_kind_is_invalid_and_names_the_known_ones() -> None:
    with pytest.raises(StrongboxError) as raised:
        registry.kind_named("ftp")
    assert raised.value.kind == ErrorKind.INVALID
    assert "use one of filesystem, s3" in raised.value.detail


def test_a_kind_may_not_redeclare_another_kinds_field_with_another_type() -> None:
    clash = replace(SHELF, name="clash", out_model=BucketAsNumber)
    try:
        with pytest.raises(ValueError, match="field 'bucket' of storage kind 'clash'"):
            registry.register(clash)
        assert "clash" not in registry.names()
    finally:
        registry.unregister("clash")  # should it have been registered after all


def test_the_models_gain_and_lose_a_kinds_fields_with_its_registration() -> None:
    assert "shelf_dir" not in registry.update_model().model_fields
    with registered():
        assert "shelf_dir" in registry.update_model().model_fields
        assert "shelf_dir" in registry.out_model().model_fields
        union = TypeAdapter(registry.create_union())
        body = {"type": "shelf", "name": "s", "shelf_dir": "/srv/s", "shelf_key": "k" * 20}
        assert union.validate_python(body).shelf_dir == "/srv/s"
    assert "shelf_dir" not in registry.out_model().model_fields
    with pytest.raises(ValidationError, match="Input tag 'shelf'"):
        TypeAdapter(registry.create_union()).validate_python(body)
