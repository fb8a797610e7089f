"""botocore's errors as StrongboxErrors that say what failed and the next step, never the
secret key: one wording for a failed check, one for a failed operation on an object."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ReadTimeoutError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from strongbox.errors import ErrorKind, StrongboxError, refused
from strongbox.storage.base import (
    ACCESS_DENIED,
    BAD_CREDENTIALS,
    FAILED,
    NO_SUCH_BUCKET,
    TLS_FAILURE,
    UNREACHABLE,
)
from strongbox.storage.s3.client import S3Settings, tls_hint

CREDENTIAL_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"})
MISSING_BUCKET_CODES = frozenset({"NoSuchBucket", "404", "NotFound"})
MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
REGION_CODES = frozenset({"AuthorizationHeaderMalformed", "PermanentRedirect", "301"})
# The steps of a check, and the permission each needs, named in ACCESS_DENIED messages.
OPEN = "open the bucket"
WRITE = "write the probe object"
READ = "read the probe object"
LIST = "list the probe object"
DELETE = "delete the probe object"
PERMISSIONS = {
    OPEN: "s3:ListBucket",
    WRITE: "s3:PutObject",
    READ: "s3:GetObject",
    LIST: "s3:ListBucket",
    DELETE: "s3:DeleteObject",
}


def check_error(s: S3Settings, operation: str, exc: Exception) -> StrongboxError:
    """The REFUSED error for a failed check step: what failed and the next step."""
    if isinstance(exc, SSLError):
        return refused(
            f"TLS failed with {s.endpoint_url} ({reason(exc)}): {tls_hint(s)}",
            TLS_FAILURE,
            field_name="ca_bundle",
        )
    if is_unreachable(exc):
        return refused(
            f"cannot reach {s.endpoint_url} ({reason(exc)}): check the endpoint URL, that "
            "the server is running and that no firewall blocks it",
            UNREACHABLE,
            field_name="endpoint_url",
        )
    code = error_code(exc)
    if code in CREDENTIAL_CODES or (code == "403" and operation == OPEN):
        return refused(
            f"the access key or secret key was refused by {s.endpoint_url} ({code}): check "
            f"access_key_id '{s.access_key_id}' and re-enter its secret_access_key",
            BAD_CREDENTIALS,
            field_name="secret_access_key",
        )
    if code == "NoSuchBucket" or (code in MISSING_BUCKET_CODES and operation == OPEN):
        return refused(
            f"bucket '{s.bucket}' does not exist at {s.endpoint_url}: create it or fix the name",
            NO_SUCH_BUCKET,
            field_name="bucket",
        )
    if code in ("AccessDenied", "403"):
        return refused(
            f"access key '{s.access_key_id}' may not {operation} in bucket '{s.bucket}' at "
            f"{s.endpoint_url} (AccessDenied): grant it {PERMISSIONS[operation]} on the "
            "bucket and prefix",
            ACCESS_DENIED,
        )
    if code in REGION_CODES:
        return refused(
            f"bucket '{s.bucket}' at {s.endpoint_url} is not in region '{s.region}' "
            f"({code}): set the bucket's region",
            FAILED,
            field_name="region",
        )
    return refused(
        f"could not {operation} in bucket '{s.bucket}' at {s.endpoint_url}: {reason(exc)}",
        FAILED,
    )


def runtime_error(s: S3Settings, operation: str, key: str, exc: Exception) -> StrongboxError:
    """The error for a failed operation on `key`: TLS_FAILURE when the endpoint's certificate
    was refused, UNREACHABLE when it cannot be reached, FAILED otherwise, with the S3 error
    code in the message."""
    where = f"bucket '{s.bucket}' at {s.endpoint_url}"
    if isinstance(exc, SSLError):
        return StrongboxError(
            f"could not {operation} '{key}': TLS failed with {where} ({reason(exc)}); "
            f"{tls_hint(s)}",
            TLS_FAILURE,
            ErrorKind.REFUSED,
        )
    if is_unreachable(exc):
        return StrongboxError(
            f"could not {operation} '{key}': cannot reach {where} ({reason(exc)}); "
            "check that the server is running and reachable",
            UNREACHABLE,
            ErrorKind.REFUSED,
        )
    return StrongboxError(
        f"could not {operation} '{key}' in {where}: {reason(exc)}",
        FAILED,
        ErrorKind.REFUSED,
    )


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_unreachable(exc: BaseException) -> bool:
    """Connection refused, timed out or dropped. A TLS failure is a connection error to
    botocore, but its fix differs, so it is not counted here."""
    unreachable = BotoConnectionError | ReadTimeoutError | ConnectionClosedError
    return isinstance(exc, unreachable) and not isinstance(exc, SSLError)


def reason(exc: BaseException) -> str:
    """A short readable reason: the S3 error code and message, or the connection error."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        return f"{code}: {message}" if message else str(code)
    return str(exc)
