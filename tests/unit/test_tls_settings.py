"""TLS settings without servers: CA bundles checked and written, and what each ssl_mode means to
libpq, PyMySQL and the MariaDB and MySQL client programs."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fixtures.tls import TestCA
from strongbox.certificates import MAX_BUNDLE_CHARS, ca_file, check_bundle
from strongbox.engines.base import ConnectionInfo
from strongbox.engines.tls import (
    SSL_MODES,
    libpq_env,
    libpq_params,
    mysql_client_args,
    pymysql_options,
    ssl_ca_rule,
    tls_problem,
)


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA("Unit Test CA")


def conn(mode: str, ca_file: str | None = "/data/tls/ca.pem") -> ConnectionInfo:
    return ConnectionInfo("db.internal", 5432, "u", "pw", ssl_mode=mode, ssl_ca_file=ca_file)


# --- bundles ----------------------------------------------------------------------------------


def test_a_bundle_keeps_its_certificates_and_drops_the_text_around_them(ca: TestCA) -> None:
    other = TestCA("Second CA")
    text = f"# Issuer: Unit Test CA (Főtanúsítvány)\n{ca.pem}\nsome notes\n{other.pem}\n"
    assert check_bundle(text) == ca.pem + other.pem


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("hello", "not a PEM certificate bundle"),
        ("", "not a PEM certificate bundle"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "cannot be read"),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            "CERTIFICATE REQUEST block",
        ),
        ("x" * (MAX_BUNDLE_CHARS + 1), "more than"),
        ("\ud800-----BEGIN CERTIFICATE-----\n\ud800\n-----END CERTIFICATE-----", "cannot be"),
    ],
)
def test_what_is_not_a_certificate_bundle_is_refused_with_why(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_bundle(text)


def test_a_private_key_next_to_the_certificate_is_refused(ca: TestCA) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="holds a private key"):
        check_bundle(ca.pem + key.decode())


def test_ca_files_are_private_absolute_and_named_by_their_content(
    ca: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = ca_file(ca.pem, Path("data"))
    assert first.is_absolute()
    assert first.read_text() == ca.pem
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.parent.stat().st_mode) == 0o700
    assert ca_file(ca.pem, Path("data")) == first
    second = ca_file(TestCA("Another").pem, Path("data"))
    assert second != first
    assert first.read_text() == ca.pem
    assert sorted(p.name for p in first.parent.iterdir()) == sorted([first.name, second.name])


# --- modes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", SSL_MODES)
def test_a_ca_goes_with_the_verify_modes_only(mode: str) -> None:
    verifies = mode.startswith("verify-")
    assert (ssl_ca_rule(mode, has_ca=True) is None) is verifies
    assert (ssl_ca_rule(mode, has_ca=False) is None) is not verifies


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("disable", {"PGSSLMODE": "disable"}),
        ("prefer", {"PGSSLMODE": "prefer"}),
        ("require", {"PGSSLMODE": "require"}),
        ("verify-ca", {"PGSSLMODE": "verify-ca", "PGSSLROOTCERT": "/data/tls/ca.pem"}),
        ("verify-full", {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/data/tls/ca.pem"}),
    ],
)
def test_libpq_gets_the_mode_and_the_ca_only_where_it_verifies(
    mode: str, expected: dict[str, str]
) -> None:
    assert libpq_env(conn(mode)) == expected
    assert list(libpq_params(conn(mode)).values()) == list(expected.values())


@pytest.mark.parametrize(
    ("mode", "mariadb", "oracle"),
    [
        ("disable", ["--skip-ssl"], ["--ssl-mode=DISABLED"]),
        ("prefer", ["--ssl"], ["--ssl-mode=PREFERRED"]),
        ("require", ["--ssl"], ["--ssl-mode=REQUIRED"]),
        (
            "verify-ca",
            ["--ssl", "--ssl-ca=/data/tls/ca.pem"],
            ["--ssl-mode=VERIFY_CA", "--ssl-ca=/data/tls/ca.pem"],
        ),
        (
            "verify-full",
            ["--ssl", "--ssl-ca=/data/tls/ca.pem", "--ssl-verify-server-cert"],
            ["--ssl-mode=VERIFY_IDENTITY", "--ssl-ca=/data/tls/ca.pem"],
        ),
    ],
)
def test_mysql_client_programs_get_the_options_of_their_vendor(
    mode: str, mariadb: list[str], oracle: list[str]
) -> None:
    assert mysql_client_args(conn(mode), mariadb=True) == mariadb
    assert mysql_client_args(conn(mode), mariadb=False) == oracle


@pytest.mark.parametrize(
    ("mode", "verify_mode", "check_hostname"),
    [
        ("require", ssl.CERT_NONE, False),
        ("verify-ca", ssl.CERT_REQUIRED, False),
        ("verify-full", ssl.CERT_REQUIRED, True),
    ],
)
def test_pymysql_requires_tls_and_checks_as_much_as_the_mode_says(
    ca: TestCA, tmp_path: Path, mode: str, verify_mode: ssl.VerifyMode, check_hostname: bool
) -> None:
    path = str(ca.write(tmp_path / "ca.pem"))
    context = pymysql_options(conn(mode, path))["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (verify_mode, check_hostname)


def test_pymysql_prefers_tls_by_default_and_can_be_told_not_to() -> None:
    assert pymysql_options(conn("prefer", None)) == {}
    assert pymysql_options(conn("disable", None)) == {"ssl_disabled": True}


# --- failed handshakes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # libpq
        ("SSL error: certificate verify failed", "unknown CA"),
        (
            'server certificate for "127.0.0.1" does not match host name "db.internal"',
            "hostname mismatch",
        ),
        ("server does not support SSL, but SSL was required", "does not offer TLS"),
        # PyMySQL (Python's ssl module)
        (
            "Can't connect to MySQL server on '127.0.0.1' ([SSL: CERTIFICATE_VERIFY_FAILED] "
            "certificate verify failed: self-signed certificate in certificate chain",
            "unknown CA",
        ),
        (
            "([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, "
            "certificate is not valid for '127.0.0.1'.",
            "hostname mismatch",
        ),
        ("certificate verify failed: certificate has expired", "expired"),
        ("SSL is required but the server doesn't support it", "does not offer TLS"),
        ("SSL error: unexpected eof while reading", "TLS handshake failed"),
    ],
)
def test_tls_failures_are_named_by_their_problem(text: str, problem: str) -> None:
    found = tls_problem(text, conn("verify-full"))
    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    "text",
    [
        'password authentication failed for user "u"',
        "Connection refused",
        "Access denied for user 'u'@'127.0.0.1' (using password: YES)",
    ],
)
def test_other_failures_are_not_taken_for_tls(text: str) -> None:
    assert tls_problem(text, conn("verify-full")) is None
