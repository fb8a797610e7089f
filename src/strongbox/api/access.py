"""Which role each API route needs (docs/api.md shows the same table).

A route declares its role by having a rule here: method and route template, first match wins.
Reads are for viewers; backups, new-database restores, schedules and PITR for operators;
storages, database servers, deleting backups, users and the audit log for admins. An overwrite
restore needs admin too; that depends on the body, so services/restores.py checks it.
`tests/integration/test_roles.py` fails for an API route that no rule covers.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import Scope

from strongbox.domain.roles import Role, Rule

ADMIN, OPERATOR, VIEWER = Role.ADMIN, Role.OPERATOR, Role.VIEWER
DB = "/api/v1/databases/{database}"

RULES: tuple[Rule, ...] = (
    # Storages: read by all, changed by admins (import registers backups from one).
    Rule("GET", "/api/v1/backup-storages", VIEWER),
    Rule("GET", "/api/v1/backup-storages/{name}", VIEWER),
    Rule("POST", "/api/v1/backup-storages", ADMIN),
    Rule("PATCH", "/api/v1/backup-storages/{name}", ADMIN),
    Rule("DELETE", "/api/v1/backup-storages/{name}", ADMIN),
    Rule("POST", "/api/v1/backup-storages/{name}/import", ADMIN),
    # Database servers: read by all, registered, changed and removed by admins.
    Rule("GET", "/api/v1/databases", VIEWER),
    Rule("GET", "/api/v1/databases/{name}", VIEWER),
    Rule("POST", "/api/v1/databases", ADMIN),
    Rule("PATCH", "/api/v1/databases/{name}", ADMIN),
    Rule("DELETE", "/api/v1/databases/{name}", ADMIN),
    # Backups: taken and canceled by operators, deleted by admins.
    Rule("GET", f"{DB}/backups", VIEWER),
    Rule("GET", f"{DB}/backups/{{name}}", VIEWER),
    Rule("POST", f"{DB}/backups", OPERATOR),
    Rule("DELETE", f"{DB}/backups/{{name}}", ADMIN),
    Rule("GET", "/api/v1/backups", VIEWER),
    Rule("POST", f"{DB}/backups/{{name}}/cancel", OPERATOR),
    # Restores: operators restore into new or empty databases; overwrite needs admin (body).
    Rule("GET", f"{DB}/restores", VIEWER),
    Rule("GET", f"{DB}/restores/{{name}}", VIEWER),
    Rule("POST", f"{DB}/restores", OPERATOR),
    Rule("POST", f"{DB}/restores/{{name}}/cancel", OPERATOR),
    # Schedules: managed by operators.
    Rule("GET", f"{DB}/schedules", VIEWER),
    Rule("GET", f"{DB}/schedules/{{name}}", VIEWER),
    Rule("GET", f"{DB}/schedules/{{name}}/runs", VIEWER),
    Rule("POST", f"{DB}/schedules", OPERATOR),
    Rule("PATCH", f"{DB}/schedules/{{name}}", OPERATOR),
    Rule("DELETE", f"{DB}/schedules/{{name}}", OPERATOR),
    # Point-in-time recovery: every route below .../pitr, read by viewers, changed by operators.
    Rule("GET", f"{DB}/pitr*", VIEWER),
    Rule("*", f"{DB}/pitr*", OPERATOR),
    # People: everyone sees who they are, changes their own password and manages their own
    # tokens (services/tokens.py keeps each to their own unless admin); admins manage users
    # and read the audit log.
    Rule("GET", "/api/v1/me", VIEWER),
    Rule("POST", "/api/v1/me/password", VIEWER),
    Rule("GET", "/api/v1/tokens", VIEWER),
    Rule("POST", "/api/v1/tokens", VIEWER),
    Rule("DELETE", "/api/v1/tokens/{name}", VIEWER),
    Rule("GET", "/api/v1/users", ADMIN),
    Rule("GET", "/api/v1/users/{name}", ADMIN),
    Rule("POST", "/api/v1/users", ADMIN),
    Rule("PATCH", "/api/v1/users/{name}", ADMIN),
    Rule("DELETE", "/api/v1/users/{name}", ADMIN),
    Rule("GET", "/api/v1/audit", ADMIN),
    # Notification targets: read by all (their URLs are masked), managed and tested by admins.
    Rule("GET", "/api/v1/notification-targets", VIEWER),
    Rule("GET", "/api/v1/notification-targets/{name}", VIEWER),
    Rule("POST", "/api/v1/notification-targets", ADMIN),
    Rule("PATCH", "/api/v1/notification-targets/{name}", ADMIN),
    Rule("DELETE", "/api/v1/notification-targets/{name}", ADMIN),
    Rule("POST", "/api/v1/notification-targets/{name}/test", ADMIN),
    # The processes that run jobs: read by all.
    Rule("GET", "/api/v1/workers", VIEWER),
)

# Routes answered without a token.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {("GET", "/api/v1/openapi.json"), ("GET", "/api/docs")}
)


def install(app: FastAPI) -> None:
    """Remember each route's full template (prefixes included): the route a request matched
    knows only its own part of the path. Call once every router is included."""
    app.state.route_templates = {id(route): path for route, path in route_templates(app)}


def route_templates(app: FastAPI) -> list[tuple[BaseRoute, str]]:
    """Every route of the app with its full template."""
    return [
        (context.original_route, context.path)
        for context in iter_route_contexts(app.routes)
        if context.path is not None
    ]


def template_of(scope: Scope) -> str | None:
    """The full route template of the request (e.g. `/api/v1/databases/{name}`); None before
    routing or when no route matched."""
    route = scope.get("route")
    app = scope.get("app")
    templates = getattr(getattr(app, "state", None), "route_templates", None)
    if route is None or templates is None:
        return None
    template: str | None = templates.get(id(route))
    return template
