"""docs/api.md's table of roles says what api/access.py enforces, rule for rule."""

from __future__ import annotations

import re
from pathlib import Path

from strongbox.api.access import RULES

DOC = Path(__file__).parents[2] / "docs" / "api.md"
ROW = re.compile(r"^\| (`[A-Z]+`|any) \| `(/api/v1/[^`]*)` \| (admin|operator|viewer) \|$")


def test_the_role_table_in_the_docs_lists_exactly_the_rules() -> None:
    rows = []
    for line in DOC.read_text().splitlines():
        found = ROW.match(line)
        if found:
            method = found.group(1).strip("`")
            rows.append(("*" if method == "any" else method, found.group(2), found.group(3)))
    assert rows == [(rule.method, rule.path, rule.role.value) for rule in RULES]
