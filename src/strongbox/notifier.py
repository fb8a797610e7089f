"""The one wrapper around apprise, which speaks to e-mail, chat and webhook services.

apprise is imported on first use: it loads its many service plugins, which takes a moment.
"""

from __future__ import annotations

import functools
import logging
import warnings
from typing import Any

log = logging.getLogger(__name__)


@functools.cache
def _apprise() -> Any:
    """apprise, with its plugins loaded once. Some plugins import modules this Python calls
    deprecated (imghdr); that is apprise's business, so the warnings are silenced while they load.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        apprise.Apprise.instantiate("json://localhost")  # loads every plugin now
    return apprise


def masked(url: str) -> str | None:
    """The URL with its secret parts masked, as apprise shows it; None when apprise does not
    know the service or cannot read the URL."""
    try:
        plugin = _apprise().Apprise.instantiate(url)
        if plugin is None:
            return None
        text: str = plugin.url(privacy=True)
    except Exception:  # a URL a plugin chokes on is as unreadable as an unknown one
        return None
    return text


def send(url: str, title: str, body: str) -> bool:
    """One attempt to deliver; True when the service took it. Never raises."""
    try:
        apprise = _apprise()
        sender = apprise.Apprise()
        if not sender.add(url):
            return False
        return bool(sender.notify(title=title, body=body))
    except Exception:  # a plugin's bug must not reach the caller; the URL is not logged
        log.exception("the notification service failed")
        return False
