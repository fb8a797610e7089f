"""The constrained strings of request bodies: what they accept and what they refuse, with which
message."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from strongbox.services import fields


def check(kind: Any, value: str) -> str:
    result: str = TypeAdapter(kind).validate_python(value)
    return result


def refusal(kind: Any, value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(kind).validate_python(value)
    return str(caught.value.errors()[0]["msg"])


@pytest.mark.parametrize(
    "host", ["db", "db.internal.example", "10.0.0.5", "::1", "fe80::1", "my_db", "db.example."]
)
def test_hosts_that_are_accepted(host: str) -> None:
    assert check(fields.Host, host) == host


@pytest.mark.parametrize(
    "host", ["", "db host", "db/x", "db\x00", "db\x7f", "-db", "1::2::3", "a" * 254, "db:5432"]
)
def test_hosts_that_are_refused(host: str) -> None:
    refusal(fields.Host, host)


def test_a_non_ascii_host_is_refused_with_its_idna_form() -> None:
    assert "xn--mnchen-3ya.example" in refusal(fields.Host, "münchen.example")
    assert "xn--mnchen-3ya.example" in refusal(fields.EndpointUrl, "https://münchen.example:9000")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8333",
        "https://s3.eu-central-1.amazonaws.com",
        "https://[::1]:9000",
        "https://minio.example/s3/",
    ],
)
def test_endpoint_urls_that_are_accepted(url: str) -> None:
    assert check(fields.EndpointUrl, url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host",
        "http://",
        "http://host:0",
        "http://host:99999",
        "http://ho st",
        "http://[1::2::3]",
        "http://host/\x00",
        "https://" + "a" * 1030,
    ],
)
def test_endpoint_urls_that_are_refused(url: str) -> None:
    refusal(fields.EndpointUrl, url)


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "auto", "garage", "fr-par"])
def test_regions_that_are_accepted(region: str) -> None:
    assert check(fields.Region, region) == region


@pytest.mark.parametrize("region", ["0", "", "US-EAST-1", "us_east", "us--east", "-us", "us-"])
def test_regions_that_are_refused(region: str) -> None:
    assert "e.g. us-east-1" in refusal(fields.Region, region) or region == ""


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        (fields.Bucket, "my-backups.eu", "My_Bucket"),
        (fields.Prefix, "strongbox/prod/", "../etc/"),
        (fields.Prefix, "", "/absolute"),
        (fields.AccessKeyId, "AKIAIOSFODNN7EXAMPLE", "key with space"),
        (fields.Username, "bäckup_user", "user\nname"),
        (fields.Description, "line one\nline two\ttab", "bell\x07"),
        (fields.FolderPath, "/var/backups", "relative/path"),
        (fields.Name, "nightly-eu", "Nightly"),
    ],
)
def test_each_kind_accepts_and_refuses(kind: Any, good: str, bad: str) -> None:
    assert check(kind, good) == good
    refusal(kind, bad)


def test_a_name_refusal_names_the_value_and_the_rule() -> None:
    message = refusal(fields.Name, "Nightly")
    assert message.startswith("'Nightly' is not a valid name: a name is 1 to 63 lowercase")


def test_the_json_schema_states_the_same_limits() -> None:
    schema = TypeAdapter(fields.Region).json_schema()
    assert schema["pattern"] == fields.REGION_PATTERN
    assert schema["maxLength"] == fields.REGION_MAX
    assert schema["minLength"] == 1
