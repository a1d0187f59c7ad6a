"""Who may do what: one access table per service.

Each service declares every action it guards as a :class:`Permission` (an action name, the
roles allowed, and a sentence for the README) in one :class:`AccessTable`, usually its
``access.py``. The routers call ``ACCESS.require(caller, "flow.record:aci")``; the access
tests iterate over the same table, so a rule changed here changes what is tested.

Territory is a separate, orthogonal check (:meth:`Principal.sees` and
:meth:`Principal.scope_clause`): a role allowed here still acts only inside its territory.
Actions may carry a qualifier after a colon (a funder category, a lifecycle status) when the
authority depends on it; :meth:`AccessTable.require` then names the exact action refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cpts_kit.auth import Principal, Role
from cpts_kit.problems import Problem

NATIONAL = frozenset({Role.CNAM, Role.DGOS})
ASSURANCE_MALADIE = frozenset({Role.CNAM, Role.CPAM})
STATE = frozenset({Role.DGOS, Role.ARS})
AUTHORITIES = NATIONAL | {Role.ARS, Role.CPAM}
EVERY_ROLE = frozenset(Role)


@dataclass(frozen=True)
class Permission:
    action: str
    roles: frozenset[Role]
    summary: str


class AccessTable:
    """The permissions of one service, by action name."""

    def __init__(self, service: str, permissions: Iterable[Permission]) -> None:
        self.service = service
        self._by_action: dict[str, Permission] = {}
        for permission in permissions:
            if permission.action in self._by_action:
                raise ValueError(f"{service}: the action {permission.action!r} is declared twice")
            self._by_action[permission.action] = permission

    def __iter__(self) -> Iterator[Permission]:
        return iter(self._by_action.values())

    def __contains__(self, action: object) -> bool:
        return action in self._by_action

    def roles(self, action: str) -> frozenset[Role]:
        try:
            return self._by_action[action].roles
        except KeyError:
            raise KeyError(f"{self.service}: no permission declared for {action!r}") from None

    def allows(self, role: Role, action: str) -> bool:
        return role in self.roles(action)

    def require(self, principal: Principal, action: str) -> None:
        """A 403 problem unless the caller's role may perform ``action`` (territory aside)."""
        roles = self.roles(action)
        if principal.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles)) or "nobody"
            raise Problem(
                403,
                f"The role {principal.role.value} may not perform {action} (allowed: {allowed})",
                type_="/problems/forbidden",
            )

    def markdown(self) -> str:
        """The table as Markdown rows (action, roles, rule), for the README."""
        lines = ["| action | roles | rule |", "| --- | --- | --- |"]
        for permission in self:
            roles = ", ".join(sorted(r.value for r in permission.roles)) or "—"
            lines.append(f"| `{permission.action}` | {roles} | {permission.summary} |")
        return "\n".join(lines)
