"""Names of the databases an overwrite restore works with next to its target.

A PostgreSQL overwrite restores into a side database and then swaps names; the target's old
content is renamed aside and dropped only after the swap. Both names carry Strongbox's mark and
the restore's random token, so they never clash with a person's database, and they fit
PostgreSQL's limit on identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_NAME_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1
MARK = "__sbx_"
ASIDE_SUFFIX = "_old"


@dataclass(frozen=True)
class SideNames:
    side: str  # restored into, then renamed to the target
    aside: str  # the target's old content, renamed out of the way, then dropped


def side_names(target: str, token: str) -> SideNames:
    """`<target>__sbx_<token>` and `<target>__sbx_<token>_old`, with `target` shortened (on a
    character boundary) so that both fit in 63 bytes. `token` is short and ASCII (a few random
    hex digits); raises ValueError when it is not.

    >>> side_names("app", "3f9a1c")
    SideNames(side='app__sbx_3f9a1c', aside='app__sbx_3f9a1c_old')
    >>> names = side_names("ü" * 40, "3f9a1c")
    >>> len(names.aside.encode()), names.side.startswith("ü" * 23 + "__sbx_")
    (62, True)
    """
    if not token.isascii() or not token.isalnum() or len(token) > 16:
        raise ValueError(f"a side-name token is up to 16 ASCII letters or digits, not {token!r}")
    room = MAX_NAME_BYTES - len(MARK) - len(token) - len(ASIDE_SUFFIX)
    stem = target.encode()[:room].decode(errors="ignore")
    side = f"{stem}{MARK}{token}"
    return SideNames(side=side, aside=side + ASIDE_SUFFIX)
