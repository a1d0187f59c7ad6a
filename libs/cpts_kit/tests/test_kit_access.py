"""The access table: one declaration per action, a 403 problem naming the action, Markdown."""

from __future__ import annotations

import pytest

from cpts_kit.access import ASSURANCE_MALADIE, AccessTable, Permission
from cpts_kit.auth import Principal, Role
from cpts_kit.problems import Problem

TABLE = AccessTable(
    "kittest",
    [
        Permission("flow.record:aci", ASSURANCE_MALADIE, "ACI money is the Assurance maladie's"),
        Permission("flow.record:fir", frozenset({Role.DGOS, Role.ARS}), "FIR money is the ARS's"),
    ],
)


def test_require_allows_the_listed_roles_and_refuses_the_others_with_a_403_naming_the_action() -> None:
    TABLE.require(Principal("a", Role.CPAM, departements=frozenset({"2A"})), "flow.record:aci")
    with pytest.raises(Problem) as refused:
        TABLE.require(Principal("b", Role.ARS, region="94"), "flow.record:aci")
    assert refused.value.status == 403
    assert "flow.record:aci" in refused.value.detail
    assert "cnam, cpam" in refused.value.detail


def test_an_undeclared_action_is_a_programming_error_not_an_open_door() -> None:
    with pytest.raises(KeyError):
        TABLE.require(Principal("a", Role.CNAM), "flow.delete")


def test_an_action_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        AccessTable("x", [Permission("a", frozenset(), "one"), Permission("a", frozenset(), "two")])


def test_markdown_lists_every_action_with_its_roles() -> None:
    rows = TABLE.markdown().splitlines()
    assert rows[2] == "| `flow.record:aci` | cnam, cpam | ACI money is the Assurance maladie's |"
    assert rows[3] == "| `flow.record:fir` | ars, dgos | FIR money is the ARS's |"
