"""What pages show of the engine kinds (names, labels, default ports), asked of the registry so
that no page names a kind."""

from __future__ import annotations

from strongbox.engines.registry import KINDS


def choices() -> list[tuple[str, str]]:
    """(name, label) of every engine kind, for a form's select.

    >>> choices()[0]
    ('postgresql', 'PostgreSQL')
    """
    return [(kind.name, kind.label) for kind in KINDS.values()]


def label(name: str) -> str:
    """How pages show engine `name`; an unknown name as it is.

    >>> label("mysql"), label("oracle")
    ('MySQL/MariaDB', 'oracle')
    """
    kind = KINDS.get(name)
    return kind.label if kind is not None else name


def port_hint() -> str:
    """The default ports, for the port field of a form.

    >>> port_hint()
    'default 5432 (PostgreSQL) or 3306 (MySQL/MariaDB)'
    """
    ports = [f"{kind.default_port} ({kind.label})" for kind in KINDS.values()]
    return "default " + " or ".join(ports)
