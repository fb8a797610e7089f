"""Is this process ready to serve? The catalog answers, and the broker when one is set.

Each check is a small factory in `CHECKS`: given the context it returns a `ReadinessCheck`, or
None when it does not apply (no broker configured). Adding a check is adding a factory.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import text

from strongbox.services.context import Context

log = logging.getLogger(__name__)

# Ports of the brokers Celery speaks to, by URL scheme, when the URL names none.
BROKER_PORTS = {"redis": 6379, "rediss": 6379, "amqp": 5672, "amqps": 5671, "pyamqp": 5672}


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    probe: Callable[[], None]  # raises when the part is not reachable


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, str]  # name -> "ok" or "unreachable" (details go to the log only)


def catalog_check(ctx: Context) -> ReadinessCheck:
    def probe() -> None:
        with ctx.catalog.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return ReadinessCheck("catalog", probe)


def broker_check(ctx: Context) -> ReadinessCheck | None:
    """A TCP connection to the broker's host and port: it says the broker is reachable from
    here without needing its client library, and sends no credentials."""
    secret = ctx.settings.broker_url
    if secret is None or not secret.get_secret_value():
        return None
    url = secret.get_secret_value()
    timeout = ctx.settings.check_timeout_seconds

    def probe() -> None:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or BROKER_PORTS.get(parts.scheme.lower())
        if port is None:
            raise ValueError(f"no port known for the broker scheme '{parts.scheme}'")
        with socket.create_connection((host, port), timeout=timeout):
            pass

    return ReadinessCheck("broker", probe)


CHECKS: list[Callable[[Context], ReadinessCheck | None]] = [catalog_check, broker_check]


def check(ctx: Context) -> Readiness:
    """Runs every check that applies; ready when all pass."""
    results: dict[str, str] = {}
    for factory in CHECKS:
        found = factory(ctx)
        if found is None:
            continue
        try:
            found.probe()
        except Exception as exc:  # any failure means not ready; the reason is for the log
            log.warning("readiness: the %s is not reachable: %s", found.name, type(exc).__name__)
            results[found.name] = "unreachable"
        else:
            results[found.name] = "ok"
    return Readiness(all(v == "ok" for v in results.values()), results)
