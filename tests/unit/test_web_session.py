"""The page's signed session cookie."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from strongbox.config import Settings
from strongbox.web import session as web_session

KEY = b"k" * 32


def test_a_cookie_round_trips_and_a_changed_one_is_refused() -> None:
    s = web_session.WebSession(None, "admin", "admin", "csrf-value", 1_000.0)
    value = web_session.encode(s, KEY)
    assert web_session.decode(value, KEY, 1_001.0) == s
    body, _, signature = value.partition(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
    assert web_session.decode(forged, KEY, 1_001.0) is None
    assert web_session.decode("garbage", KEY, 1_001.0) is None


def test_a_session_ends_after_its_lifetime() -> None:
    s = web_session.WebSession(None, "admin", "admin", "c", 1_000.0)
    value = web_session.encode(s, KEY)
    assert web_session.decode(value, KEY, 1_000.0 + web_session.SESSION_SECONDS - 1) == s
    assert web_session.decode(value, KEY, 1_000.0 + web_session.SESSION_SECONDS) is None


def test_the_key_comes_from_the_secret_key_or_a_private_file(tmp_path: Path) -> None:
    with_secret = Settings(data_dir=tmp_path, secret_key=SecretStr("s"))
    assert web_session.session_key(with_secret) == web_session.session_key(with_secret)
    assert not (tmp_path / web_session.KEY_FILE_NAME).exists()
    plain = Settings(data_dir=tmp_path)
    first = web_session.session_key(plain)
    key_file = tmp_path / web_session.KEY_FILE_NAME
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert web_session.session_key(plain) == first != web_session.session_key(with_secret)
