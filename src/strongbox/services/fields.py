"""Constrained string types shared by every request model: names, hosts, endpoint URLs, regions,
buckets, prefixes, user names, secrets, free text.

Each type states its limits in the OpenAPI document exactly (`maxLength`, and `pattern` where one
applies) and enforces the same limits with a message a person can act on, so that a client or a
fuzzer that follows the document and the server agree on what is valid. Nothing that passes these
checks can reach a driver or a library that would fail on it (control characters, non-ASCII hosts,
regions botocore refuses): such failures were answered with a 500 before.

The patterns are written in the common subset of ECMA-262, Python and Rust regular expressions
(no look-around) so that every JSON Schema tool reads them the same way.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, SecretStr
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from strongbox.domain.names import NAME_PATTERN, NAME_RULE

_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_DNS_NAME = rf"{_LABEL}(\.{_LABEL})*\.?"  # IPv4 addresses are of this shape too
_IPV6 = r"[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*"
_URL_PATH = r"(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?"

NAME_MAX = 63
HOST_PATTERN = rf"^({_DNS_NAME}|{_IPV6})$"
HOST_MAX = 253
ENDPOINT_URL_PATTERN = rf"^https?://({_DNS_NAME}|\[{_IPV6}\])(:[0-9]{{1,5}})?{_URL_PATH}$"
ENDPOINT_URL_MAX = 1024
REGION_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
REGION_MAX = 63
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
PREFIX_PATTERN = r"^([A-Za-z0-9_-][A-Za-z0-9._-]*/)*([A-Za-z0-9_-][A-Za-z0-9._-]*)?$"
PREFIX_MAX = 512
ACCESS_KEY_PATTERN = r"^[!-~]+$"  # printable ASCII, no space
PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f]+$"  # any text on one line, no control character
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # tabs and line breaks allowed
FOLDER_PATTERN = r"^/[^\x00-\x1f\x7f]*$"
CRON_PATTERN = r"^[\t -~]+$"
TIMEZONE_PATTERN = r"^[A-Za-z0-9_+/-]+$"


@dataclass(frozen=True)
class Rule:
    """Limits a `str` to `min_length..max_length` characters that fully match `pattern`, as in
    `Annotated[str, Rule(...)]`. A value that does not is refused with `message` (`{value}` in it
    is replaced by the value). The pattern is anchored (`^...$`) so that JSON Schema's search
    semantics and a full match agree. `before` and `after` may refuse more precisely (raising
    PydanticCustomError) before and after the pattern check. The OpenAPI document states
    `minLength`, `maxLength` and `pattern`."""

    pattern: str
    message: str
    max_length: int
    min_length: int = 1
    example: str | None = None
    before: Callable[[str], None] | None = None
    after: Callable[[str], None] | None = None

    def check(self, value: str) -> str:
        if self.before is not None:
            self.before(value)
        if re.fullmatch(self.pattern, value) is None:
            raise PydanticCustomError("string_pattern_mismatch", self.message, {"value": value})
        if self.after is not None:
            self.after(value)
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        if schema["type"] == "str":
            schema = {**schema, "min_length": self.min_length, "max_length": self.max_length}
        return core_schema.no_info_after_validator_function(self.check, schema)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        if self.example is not None:
            json_schema.setdefault("examples", [self.example])
        return json_schema


def _ascii_host_hint(value: str) -> None:
    """Refuse a host with non-ASCII letters, naming its IDNA (xn--) spelling when there is one.

    Strongbox does not convert it silently: what is stored is exactly what is used."""
    if value.isascii():
        return
    hint = ""
    try:
        host = urlsplit(value).hostname if "://" in value else value
        if host and not host.isascii():
            hint = f": write the host in its IDNA form, '{host.encode('idna').decode('ascii')}'"
    except (UnicodeError, ValueError):  # not a host IDNA can spell: no hint
        hint = ""
    raise PydanticCustomError(
        "host_not_ascii", "only ASCII characters are allowed here{hint}", {"hint": hint}
    )


def _check_ipv6(value: str) -> None:
    if ":" in value:
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            raise PydanticCustomError(
                "host_invalid", "'{value}' is not an IPv6 address", {"value": value}
            ) from None


def _check_endpoint(value: str) -> None:
    try:
        port = urlsplit(value).port
        host = urlsplit(value).hostname or ""
    except ValueError:
        raise PydanticCustomError("port_invalid", "the port must be from 1 to 65535") from None
    if port == 0:
        raise PydanticCustomError("port_invalid", "the port must be from 1 to 65535")
    _check_ipv6(host)


def _no_nul(value: SecretStr) -> SecretStr:
    if "\x00" in value.get_secret_value():
        raise PydanticCustomError("secret_invalid", "a secret cannot contain a NUL character")
    return value


NAME = Rule(
    NAME_PATTERN.pattern,
    "'{value}' is not a valid name: " + NAME_RULE,
    max_length=NAME_MAX,
)
Name = Annotated[str, NAME]
Host = Annotated[
    str,
    Rule(
        HOST_PATTERN,
        "a host is a DNS name, an IPv4 address or an IPv6 address, in ASCII letters, digits, "
        "'-', '_', '.' and ':'",
        max_length=HOST_MAX,
        example="db.internal.example",
        before=_ascii_host_hint,
        after=_check_ipv6,
    ),
]
EndpointUrl = Annotated[
    str,
    Rule(
        ENDPOINT_URL_PATTERN,
        "an endpoint URL is http:// or https://, an ASCII host name, IPv4 or [IPv6] address, "
        "an optional :port and an optional path",
        max_length=ENDPOINT_URL_MAX,
        example="https://s3.eu-central-1.amazonaws.com",
        before=_ascii_host_hint,
        after=_check_endpoint,
    ),
]
Region = Annotated[
    str,
    Rule(
        REGION_PATTERN,
        "a region is lowercase letters, digits and '-' between them, starting with a letter "
        "(e.g. us-east-1)",
        max_length=REGION_MAX,
        example="us-east-1",
    ),
]
Bucket = Annotated[
    str,
    Rule(
        BUCKET_PATTERN,
        "a bucket name is 3 to 63 lowercase letters, digits, '.' or '-', starting and ending "
        "with a letter or digit (S3's bucket naming rules)",
        max_length=63,
        min_length=3,
        example="backups",
    ),
]
Prefix = Annotated[
    str,
    Rule(
        PREFIX_PATTERN,
        "a prefix is folder names of letters, digits, '.', '_' and '-' separated by '/', none "
        "starting with '.' and no leading '/' (e.g. strongbox/prod/)",
        max_length=PREFIX_MAX,
        min_length=0,
        example="strongbox/",
    ),
]
AccessKeyId = Annotated[
    str,
    Rule(ACCESS_KEY_PATTERN, "an access key ID is printable ASCII without spaces", max_length=128),
]
Username = Annotated[
    str,
    Rule(PRINTABLE_PATTERN, "a user name cannot contain control characters", max_length=128),
]
DbName = Annotated[
    str,
    Rule(PRINTABLE_PATTERN, "a database name cannot contain control characters", max_length=64),
]
Description = Annotated[
    str,
    Rule(
        TEXT_PATTERN,
        "a description cannot contain control characters other than tabs and line breaks",
        max_length=1024,
        min_length=0,
    ),
]
FolderPath = Annotated[
    str,
    Rule(
        FOLDER_PATTERN,
        "the path must be absolute (start with '/') and cannot contain control characters",
        max_length=4096,
    ),
]
Secret = Annotated[SecretStr, Field(min_length=1, max_length=1024), AfterValidator(_no_nul)]
Password = Annotated[SecretStr, Field(max_length=1024), AfterValidator(_no_nul)]


def _check_age_recipient(value: str) -> None:
    from strongbox.age_keys import recipient_problem  # pyrage loads only where keys are used

    problem = recipient_problem(value)
    if problem is not None:
        raise PydanticCustomError("age_recipient_invalid", "'{value}' " + problem, {"value": value})


AgeRecipient = Annotated[
    str,
    Rule(
        r"^age1[0-9a-z]+$",
        "'{value}' is not an age recipient: give the 'age1...' public key age-keygen prints",
        max_length=128,
        example="age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        after=_check_age_recipient,
    ),
]
AgeRecipients = Annotated[
    list[AgeRecipient],
    Field(
        max_length=16,
        description="age recipients (public keys, 'age1...') every backup is encrypted to; "
        "a restore then needs the identity of one of them",
    ),
]
