"""Opening an S3 backend from plain JSON values (`strongbox.storage.light_open`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from strongbox.storage.light_open import LightOpen
from strongbox.storage.s3.client import S3Settings
from strongbox.storage.s3.storage import S3Storage


def light_open(settings: S3Settings, concurrency: int, parts_per_object: int) -> LightOpen:
    """What the stream process needs to open the same bucket (the secret included: it travels
    over the process's stdin pipe, never in its arguments or environment)."""
    return LightOpen(
        f"{__name__}:open_s3",
        {
            "settings": asdict(settings),
            "upload_concurrency": concurrency,
            "parts_per_object": parts_per_object,
        },
    )


def open_s3(settings: dict[str, Any], upload_concurrency: int, parts_per_object: int) -> S3Storage:
    return S3Storage(
        S3Settings(**settings),
        upload_concurrency=upload_concurrency,
        parts_per_object=parts_per_object,
    )
