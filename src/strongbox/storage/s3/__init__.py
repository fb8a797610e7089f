"""S3-compatible backup storage (AWS S3, MinIO, SeaweedFS, Ceph RGW...) through boto3."""

from strongbox.storage.s3.client import S3Settings
from strongbox.storage.s3.storage import S3Storage

__all__ = ["S3Settings", "S3Storage"]
