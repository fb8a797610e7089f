"""The page's form parsing: form fields -> the services' input models, errors -> fields."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import MultiDict

from fixtures.tls import TestCA
from strongbox.errors import StrongboxError, refused
from strongbox.services.schemas.errors import field_message
from strongbox.storage import registry
from strongbox.web import forms


def test_a_daily_schedule_form_becomes_a_frequency() -> None:
    body = forms.schedule_create(
        MultiDict(
            {
                "name": "nightly",
                "storage": "disk",
                "repeats": "day",
                "frequency.time": "2:00",
                "frequency.minute": "99",  # a hidden field of another choice is ignored
                "timezone": "Europe/Berlin",
                "retention_copies": "7",
            }
        )
    )
    assert body.frequency is not None
    assert body.frequency.model_dump() == {"every": "day", "time": "02:00"}
    assert (body.name, body.timezone, body.retention_copies) == ("nightly", "Europe/Berlin", 7)


def test_an_empty_name_takes_the_default_and_a_cron_line_is_kept() -> None:
    body = forms.schedule_create(
        MultiDict({"name": "", "storage": "disk", "repeats": "cron", "cron": "30 2 * * 1-5"})
    )
    assert body.name is None
    assert body.cron == "30 2 * * 1-5"
    assert body.frequency is None


def test_a_bad_time_is_reported_on_the_time_field() -> None:
    with pytest.raises(forms.FormInvalid) as caught:
        forms.schedule_create(
            MultiDict(
                {
                    "storage": "disk",
                    "repeats": "week",
                    "frequency.weekday": "sun",
                    "frequency.time": "25:00",
                }
            )
        )
    assert "between 00:00 and 23:59" in caught.value.errors.fields["frequency.time"]


def test_a_bad_cron_line_and_time_zone_are_reported_on_their_fields() -> None:
    with pytest.raises(forms.FormInvalid) as caught:
        forms.schedule_create(
            MultiDict(
                {"storage": "disk", "repeats": "cron", "cron": "* *", "timezone": "Mars/Base"}
            )
        )
    fields = caught.value.errors.fields
    assert "5 are needed" in fields["cron"]
    assert "IANA" in fields["timezone"]


def test_the_edit_form_leaves_out_the_name() -> None:
    update = forms.schedule_update(
        MultiDict({"storage": "disk", "repeats": "hour", "frequency.minute": "15"})
    )
    assert update.frequency is not None
    assert update.frequency.model_dump() == {"every": "hour", "minute": 15}
    assert "name" not in update.model_fields_set


def test_an_s3_storage_form_reports_missing_fields_without_the_type_tag() -> None:
    with pytest.raises(forms.FormInvalid) as caught:
        forms.storage_create(MultiDict({"type": "s3", "name": "Bad Name", "bucket": "b"}))
    fields = caught.value.errors.fields
    assert fields["endpoint_url"] == "this field is required"
    assert "not a valid name" in fields["name"]
    assert "secret_access_key" in fields


def test_unchecked_boxes_are_false_and_an_empty_secret_keeps_the_stored_one() -> None:
    update = forms.storage_update(MultiDict({"bucket": "bucket-2", "secret_access_key": ""}), "s3")
    assert update.secret_access_key is None
    assert update.verify_tls is False
    assert update.force_path_style is False
    assert update.bucket == "bucket-2"


def test_production_hours_are_only_read_when_ticked() -> None:
    base = {"name": "shop", "engine": "postgresql", "host": "db", "username": "u", "port": ""}
    assert forms.database_create(MultiDict(base)).production_hours is None
    with pytest.raises(forms.FormInvalid) as caught:
        forms.database_create(
            MultiDict(
                [
                    *base.items(),
                    ("has_production_hours", "on"),
                    ("production_hours.start", "08:00"),
                    ("production_hours.end", "08:00"),
                ]
            )
        )
    fields = caught.value.errors.fields
    assert "at least one" in fields["production_hours.days"]


def test_a_new_database_restore_needs_a_name_for_each_source() -> None:
    with pytest.raises(forms.FormInvalid) as caught:
        forms.restore_create(MultiDict({"backup": "b1", "into": "new", "map.a": "a2"}), ["a", "b"])
    assert list(caught.value.errors.fields) == ["map.b"]
    same = forms.restore_create(
        MultiDict({"backup": "b1", "into": "same", "overwrite": "on"}), ["a"]
    )
    assert (same.database_map, same.overwrite) == ({}, True)


def test_a_service_refusal_lands_on_its_field_and_as_the_form_message() -> None:
    errors = forms.from_error(
        refused("the secret key was refused", "bad", field_name="body.secret_access_key")
    )
    assert errors.fields == {"secret_access_key": "the secret key was refused"}
    assert errors.message == "the secret key was refused"
    assert forms.from_error(StrongboxError("busy")).fields == {}


def test_a_storage_form_takes_a_ca_bundle_and_an_emptied_field_removes_it() -> None:
    pem = TestCA("Form CA").pem
    s3 = {"type": "s3", "name": "b", "endpoint_url": "https://s3", "bucket": "bucket-1"}
    created = forms.storage_create(
        MultiDict({**s3, "access_key_id": "k", "secret_access_key": "s", "ca_bundle": pem})
    )
    assert created.ca_bundle == pem
    assert forms.storage_create(MultiDict({**s3, "access_key_id": "k", "secret_access_key": "s"}))
    update = forms.storage_update(MultiDict({"bucket": "bucket-1", "ca_bundle": "  "}), "s3")
    assert "ca_bundle" in update.model_fields_set
    assert update.ca_bundle is None
    with pytest.raises(forms.FormInvalid) as caught:
        forms.storage_update(MultiDict({"ca_bundle": "not pem"}), "s3")
    assert "not a PEM certificate bundle" in caught.value.errors.fields["ca_bundle"]


def test_a_database_form_sends_its_ca_only_with_a_mode_that_verifies() -> None:
    pem = TestCA("Form CA").pem
    base = {"name": "shop", "engine": "postgresql", "host": "db", "username": "u", "ssl_ca": pem}
    verified = forms.database_create(MultiDict({**base, "ssl_mode": "verify-full"}))
    assert (verified.ssl_mode, verified.ssl_ca) == ("verify-full", pem)
    hidden = forms.database_create(MultiDict({**base, "ssl_mode": "require"}))
    assert (hidden.ssl_mode, hidden.ssl_ca) == ("require", None)
    assert forms.database_create(MultiDict({**base, "ssl_mode": ""})).ssl_mode == "prefer"


def test_a_bad_field_reads_the_same_on_the_page_as_in_the_api() -> None:
    body = {
        "type": "s3",
        "name": "b",
        "endpoint_url": "http://h",
        "bucket": "x" * 200,
        "access_key_id": "k",
        "secret_access_key": "s",
    }
    with pytest.raises(ValidationError) as api_side:
        TypeAdapter(registry.create_union()).validate_python(body)
    (api,) = [field_message(e) for e in api_side.value.errors()]
    with pytest.raises(forms.FormInvalid) as page_side:
        forms.storage_create(MultiDict(body))
    assert api.field == "bucket"
    assert page_side.value.errors.fields == {"bucket": api.message}


def test_a_wrong_monthly_day_is_reported_on_the_day_field() -> None:
    with pytest.raises(forms.FormInvalid) as caught:
        forms.schedule_create(
            MultiDict(
                {
                    "storage": "disk",
                    "repeats": "month",
                    "frequency.day": "40",
                    "frequency.time": "02:00",
                }
            )
        )
    assert set(caught.value.errors.fields) == {"frequency.day"}


def test_a_refusal_keeps_the_forms_or_the_services_errors_and_lets_others_through() -> None:
    with forms.Refusal() as by_form:
        forms.backup_create(MultiDict({"storage": "Not A Name"}))
    with forms.Refusal() as by_service:
        raise refused("no backup storage 'x'", "no-such-storage", field_name="body.storage")
    with forms.Refusal() as quiet:
        pass
    assert by_form.errors is not None
    assert set(by_form.errors.fields) == {"storage"}
    assert by_service.errors is not None
    assert by_service.errors.fields == {"storage": "no backup storage 'x'"}
    assert quiet.errors is None
    with pytest.raises(KeyError), forms.Refusal():
        raise KeyError("a bug is not a refusal")


def test_a_database_form_carries_the_limits_and_the_backup_source() -> None:
    base = {"name": "shop", "engine": "postgresql", "host": "db", "username": "u"}
    plain = forms.database_create(MultiDict({**base, "max_rate_mb_per_s": ""}))
    assert (plain.max_rate_mb_per_s, plain.lock_timeout_seconds, plain.backup_source) == (
        None,
        60,
        None,
    )
    limited = forms.database_create(
        MultiDict(
            {
                **base,
                "max_rate_mb_per_s": "12.5",
                "lock_timeout_seconds": "10",
                "backup_source.host": "standby",
                "backup_source.port": "5433",
            }
        )
    )
    assert limited.max_rate_mb_per_s == 12.5
    assert limited.lock_timeout_seconds == 10
    assert limited.backup_source is not None
    assert (limited.backup_source.host, limited.backup_source.port) == ("standby", 5433)
    with pytest.raises(forms.FormInvalid) as caught:
        forms.database_create(MultiDict({**base, "backup_source.host": "standby"}))
    assert "backup_source.port" in caught.value.errors.fields


def test_freshness_hours_are_read_when_filled_and_checked() -> None:
    base = {"name": "shop", "engine": "postgresql", "host": "db", "username": "u", "port": ""}
    assert forms.database_create(MultiDict(base)).freshness_hours is None
    assert forms.database_create(MultiDict({**base, "freshness_hours": "26"})).freshness_hours == 26
    with pytest.raises(forms.FormInvalid) as caught:
        forms.database_create(MultiDict({**base, "freshness_hours": "0"}))
    assert "freshness_hours" in str(caught.value.errors)
