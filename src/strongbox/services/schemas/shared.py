"""What the models of every resource share: the strict input base, PEM bundles, bounded lists."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from strongbox.certificates import MAX_BUNDLE_CHARS, check_bundle

# PEM text of CA certificates, checked and stored re-encoded (see strongbox.certificates).
PemBundle = Annotated[
    str,
    Field(
        max_length=MAX_BUNDLE_CHARS,
        description="PEM certificates (-----BEGIN CERTIFICATE-----) of the CAs to trust",
    ),
    AfterValidator(check_bundle),
]
SslMode = Literal["disable", "prefer", "require", "verify-ca", "verify-full"]
# Lists and maps in a request are bounded too (each item is bounded by its own type).
LIST_MAX = 256


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
