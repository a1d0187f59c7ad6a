"""The audit rules, one module each (``RULE``: id, title, rationale, versioned parameters,
evaluation). The modules of this package are discovered: adding a rule touches no other file."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from cpts_audit.domain.parameters import Rule


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    found: list[Rule] = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        rule = getattr(importlib.import_module(f"{__name__}.{module.name}"), "RULE", None)
        if isinstance(rule, Rule):
            found.append(rule)
    ids = [r.id for r in found]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two rules share an id: {sorted(ids)}")
    return tuple(found)


def by_id() -> dict[str, Rule]:
    return {r.id: r for r in all_rules()}
