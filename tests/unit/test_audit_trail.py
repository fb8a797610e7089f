"""Which requests the audit log records, and as whom (api/audit_trail.py's entry_of)."""

from __future__ import annotations

from typing import Any

from strongbox.api.audit_trail import entry_of
from strongbox.domain.roles import Role
from strongbox.services.auth import Principal


def scope(method: str, path: str, query: bytes = b"", **state: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "client": ("192.0.2.7", 5000),
        "state": state,
    }


def test_a_change_is_recorded_with_its_principal_address_and_outcome() -> None:
    principal = Principal(role=Role.OPERATOR, user="olga", token_name="olga-cli")
    entry = entry_of(scope("POST", "/api/v1/databases/x/backups", principal=principal), 202)
    assert entry is not None
    assert (entry.actor, entry.token, entry.role) == ("olga", "olga-cli", "operator")
    assert (entry.address, entry.status) == ("192.0.2.7", 202)


def test_a_service_token_is_named_as_such() -> None:
    principal = Principal(role=Role.ADMIN, token_name="ci")
    entry = entry_of(scope("DELETE", "/api/v1/tokens/x", principal=principal), 204)
    assert entry is not None
    assert entry.actor == "token:ci"


def test_reads_are_left_out_unless_refused() -> None:
    assert entry_of(scope("GET", "/api/v1/databases"), 200) is None
    assert entry_of(scope("GET", "/databases"), 303) is None
    for status in (401, 403, 429):
        entry = entry_of(scope("GET", "/api/v1/databases"), status)
        assert entry is not None
        assert entry.actor == "anonymous"


def test_dry_runs_are_left_out() -> None:
    assert entry_of(scope("POST", "/api/v1/databases/x/restores", b"dry_run=true"), 200) is None
    assert entry_of(scope("POST", "/api/v1/databases/x/restores", b"dry_run=false"), 202)


def test_a_failed_sign_in_names_the_user_tried_when_known() -> None:
    entry = entry_of(scope("POST", "/sign-in", attempted_user="olga"), 401)
    assert entry is not None
    assert (entry.actor, entry.role) == ("olga", None)
