"""Roles and the rules that say which role each route needs.

Three roles, each holding everything of the one below: `viewer` reads, `operator` also takes
backups, restores into new databases and manages schedules and PITR, `admin` does everything
(overwrite restores, storages, database servers, users, the audit log).

A rule names a method and a route template; the first rule that matches a request's route
decides. Names of path parameters do not matter (`{db}` matches `{database}`), and a template
ending in `*` matches every route below it, so that routes added later under a declared prefix
are covered by the rule written for them now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def covers(self, needed: Role) -> bool:
        """Whether this role may do what `needed` may.

        >>> Role.ADMIN.covers(Role.OPERATOR), Role.VIEWER.covers(Role.OPERATOR)
        (True, False)
        """
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}
ROLE_NAMES = tuple(role.value for role in Role)


def lower_of(first: Role, second: Role) -> Role:
    """The lesser of two roles (a token never does more than its owner).

    >>> lower_of(Role.ADMIN, Role.VIEWER)
    <Role.VIEWER: 'viewer'>
    """
    return first if first.rank <= second.rank else second


@dataclass(frozen=True)
class Rule:
    method: str  # an HTTP method, or "*" for any
    path: str  # a route template; a trailing "*" matches everything below
    role: Role


_PARAMETER = re.compile(r"\{[^}]*\}")


def _shape(template: str) -> str:
    """A template with its parameter names erased.

    >>> _shape("/databases/{db}/pitr")
    '/databases/{}/pitr'
    """
    return _PARAMETER.sub("{}", template)


def rule_for(rules: tuple[Rule, ...], method: str, template: str) -> Rule | None:
    """The first rule matching the method and route template; None when no rule does.

    >>> rules = (Rule("GET", "/x/{a}/pitr*", Role.VIEWER), Rule("*", "/x/{a}/pitr*", Role.OPERATOR))
    >>> rule_for(rules, "GET", "/x/{db}/pitr/window").role
    <Role.VIEWER: 'viewer'>
    >>> rule_for(rules, "POST", "/x/{db}/pitr").role
    <Role.OPERATOR: 'operator'>
    >>> rule_for(rules, "POST", "/x/{db}/pitrs") is None
    True
    """
    method = "GET" if method == "HEAD" else method
    shape = _shape(template)
    for rule in rules:
        if rule.method not in ("*", method):
            continue
        if rule.path.endswith("*"):
            base = _shape(rule.path[:-1])
            if shape == base or shape.startswith(base.rstrip("/") + "/"):
                return rule
        elif _shape(rule.path) == shape:
            return rule
    return None


def needed_role(rules: tuple[Rule, ...], method: str, template: str) -> Role:
    """The role a route needs; a route no rule covers is for admins only, so that forgetting
    a rule never opens a route (and the route-table test names it).

    >>> needed_role((), "GET", "/new")
    <Role.ADMIN: 'admin'>
    """
    rule = rule_for(rules, method, template)
    return rule.role if rule is not None else Role.ADMIN
