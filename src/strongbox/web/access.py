"""Which role each route of the page needs, as for the API (`api/access.py`): a page that
shows a form to change something needs the role that may send it. Templates hide links and
buttons a session's role may not use (`session.may(...)`); this table refuses them if forced."""

from __future__ import annotations

from strongbox.domain.roles import Role, Rule, needed_role

ADMIN, OPERATOR, VIEWER = Role.ADMIN, Role.OPERATOR, Role.VIEWER
DB = "/databases/{database}"
STORAGES = "/settings/backup-storages"

RULES: tuple[Rule, ...] = (
    Rule("GET", "/databases", VIEWER),
    Rule("GET", "/databases/new", ADMIN),
    Rule("POST", "/databases", ADMIN),
    Rule("GET", "/databases/{name}", VIEWER),
    Rule("GET", f"{DB}/partials/backups", VIEWER),
    Rule("GET", f"{DB}/dialogs/backup-now", OPERATOR),
    Rule("POST", f"{DB}/backups", OPERATOR),
    Rule("GET", f"{DB}/backups/{{name}}/delete", ADMIN),
    Rule("POST", f"{DB}/backups/{{name}}/delete", ADMIN),
    Rule("POST", f"{DB}/backups/{{name}}/cancel", OPERATOR),
    Rule("GET", f"{DB}/partials/restores", VIEWER),
    Rule("GET", f"{DB}/dialogs/restore", OPERATOR),
    Rule("POST", f"{DB}/restores/plan", OPERATOR),
    Rule("POST", f"{DB}/restores", OPERATOR),
    Rule("POST", f"{DB}/restores/{{name}}/cancel", OPERATOR),
    Rule("GET", f"{DB}/partials/schedules", VIEWER),
    Rule("GET", f"{DB}/dialogs/schedule", OPERATOR),
    Rule("POST", f"{DB}/schedules/preview", OPERATOR),
    Rule("POST", f"{DB}/schedules", OPERATOR),
    Rule("POST", f"{DB}/schedules/{{name}}", OPERATOR),
    Rule("POST", f"{DB}/schedules/{{name}}/pause", OPERATOR),
    Rule("POST", f"{DB}/schedules/{{name}}/resume", OPERATOR),
    Rule("GET", f"{DB}/schedules/{{name}}/delete", OPERATOR),
    Rule("POST", f"{DB}/schedules/{{name}}/delete", OPERATOR),
    Rule("GET", f"{DB}/partials/pitr", VIEWER),
    Rule("GET", f"{DB}/pitr*", VIEWER),
    Rule("*", f"{DB}/pitr*", OPERATOR),
    Rule("GET", STORAGES, VIEWER),
    Rule("GET", f"{STORAGES}/new", ADMIN),
    Rule("POST", STORAGES, ADMIN),
    Rule("GET", f"{STORAGES}/{{name}}/edit", ADMIN),
    Rule("POST", f"{STORAGES}/{{name}}", ADMIN),
    Rule("GET", f"{STORAGES}/{{name}}/delete", ADMIN),
    Rule("POST", f"{STORAGES}/{{name}}/delete", ADMIN),
    Rule("POST", "/sign-out", VIEWER),
    Rule("GET", "/account", VIEWER),
    Rule("POST", "/account/password", VIEWER),
    Rule("POST", "/account/tokens", VIEWER),
    Rule("POST", "/account/tokens/{name}/revoke", VIEWER),
    Rule("GET", "/settings/users", ADMIN),
    Rule("POST", "/settings/users", ADMIN),
    Rule("POST", "/settings/users/{name}", ADMIN),
    Rule("POST", "/settings/users/{name}/delete", ADMIN),
    Rule("GET", "/settings/audit", ADMIN),
    Rule("GET", "/settings/notifications", VIEWER),
    Rule("POST", "/settings/notifications", ADMIN),
    Rule("POST", "/settings/notifications/{name}/test", ADMIN),
    Rule("POST", "/settings/notifications/{name}/delete", ADMIN),
)

# Routes of the page answered without a session.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/"),
        ("POST", "/sign-in"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        # Checks its own bearer token (STRONGBOX_METRICS_TOKEN or a viewer's API token).
        ("GET", "/metrics"),
    }
)

# POSTs of the page that change nothing (live previews): the audit log leaves them out.
PREVIEWS: frozenset[str] = frozenset({f"{DB}/schedules/preview", f"{DB}/restores/plan"})


def role_needed(method: str, template: str) -> Role:
    return needed_role(RULES, method, template)
