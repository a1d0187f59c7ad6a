"""The registry's rules, without I/O."""

from __future__ import annotations

from datetime import date

import pytest

from cpts_registry.domain.coverage import compute_coverage
from cpts_registry.domain.identifiers import finess_problem, luhn_valid, siren_problem, siret_problem, with_luhn_key
from cpts_registry.domain.lifecycle import (
    ALLOWED,
    Status,
    TransitionRefused,
    check_transition,
    contract_anniversary,
    next_anniversary,
)
from cpts_registry.domain.professions import PROFESSIONS, Profession, is_health_profession
from cpts_registry.domain.tiers import SizeTier, size_tier
from cpts_registry.refdata import Commune


def test_siren_luhn() -> None:
    assert siren_problem("732829320") is None  # a real, Luhn-valid SIREN
    assert siren_problem("732829321") == "the SIREN's check digit (Luhn) is wrong"
    assert siren_problem("73282932") == "a SIREN has exactly 9 digits"
    assert siren_problem("73282932A") == "a SIREN has exactly 9 digits"


def test_siret_belongs_to_its_siren() -> None:
    siret = with_luhn_key("732829320" + "0001")
    assert luhn_valid(siret) and len(siret) == 14
    assert siret_problem(siret, "732829320") is None
    assert siret_problem(siret, "552100554") == "a SIRET starts with the SIREN of its legal unit"
    assert (
        siret_problem(siret[:-1] + str((int(siret[-1]) + 1) % 10), "732829320")
        == "the SIRET's check digit (Luhn) is wrong"
    )


@pytest.mark.parametrize(
    "value, ok",
    [("2A0012345", True), ("750001234", True), ("970123456", True), ("7500012", False), ("2C0012345", False)],
)
def test_finess_format(value: str, ok: bool) -> None:
    assert (finess_problem(value) is None) is ok


@pytest.mark.parametrize(
    "population, tier",
    [
        (0, SizeTier.T1),
        (39_999, SizeTier.T1),
        (40_000, SizeTier.T2),
        (79_999, SizeTier.T2),
        (80_000, SizeTier.T3),
        (175_000, SizeTier.T3),
        (175_001, SizeTier.T4),
        (2_000_000, SizeTier.T4),
    ],
)
def test_size_tier_thresholds(population: int, tier: SizeTier) -> None:
    assert size_tier(population) is tier


def test_every_status_has_its_allowed_transitions() -> None:
    assert set(ALLOWED) == set(Status)
    assert ALLOWED[Status.DISSOLVED] == ()


def test_transition_rules() -> None:
    today = date(2025, 6, 1)
    check_transition(
        Status.INTENTION_LETTER_SIGNED, Status.HEALTH_PROJECT_VALIDATED, date(2024, 1, 1), date(2024, 6, 1), today
    )
    with pytest.raises(TransitionRefused) as refused:
        check_transition(Status.INTENTION_LETTER_SIGNED, Status.ACI_SIGNED, date(2024, 1, 1), date(2024, 6, 1), today)
    assert refused.value.allowed == (Status.HEALTH_PROJECT_VALIDATED, Status.DISSOLVED)
    with pytest.raises(TransitionRefused, match="before the current status date"):
        check_transition(Status.ACI_SIGNED, Status.SUSPENDED, date(2024, 1, 1), date(2023, 12, 31), today)
    with pytest.raises(TransitionRefused, match="in the future"):
        check_transition(Status.ACI_SIGNED, Status.SUSPENDED, date(2024, 1, 1), date(2025, 6, 2), today)
    with pytest.raises(TransitionRefused, match="dissolved is final"):
        check_transition(Status.DISSOLVED, Status.ACI_SIGNED, date(2024, 1, 1), date(2024, 2, 1), today)


def test_contract_anniversary() -> None:
    assert contract_anniversary(date(2020, 2, 29), 2023) == date(2023, 2, 28)
    assert next_anniversary(date(2021, 6, 15), date(2025, 6, 15)) == date(2026, 6, 15)
    assert next_anniversary(date(2021, 6, 15), date(2025, 6, 14)) == date(2025, 6, 15)


def test_health_professions_of_the_code_de_la_sante_publique() -> None:
    assert is_health_profession(Profession.INFIRMIER)
    assert not is_health_profession(Profession.PSYCHOLOGUE)
    assert not is_health_profession(Profession.ELU_LOCAL)
    assert set(PROFESSIONS) == set(Profession)


def _commune(code: str, population: int) -> Commune:
    return Commune(code=code, name=code, departement="2A", region="94", population=population, parent=None)


def test_coverage_counts_uncovered_and_overlapping_communes() -> None:
    communes = [_commune("A", 1000), _commune("B", 500), _commune("C", 250), _commune("D", 0)]
    result = compute_coverage(communes, {"A": ["x"], "B": ["x", "y", "y"], "D": ["y"]})
    assert result.population == 1750
    assert result.covered_population == 1500
    assert result.uncovered_population == 250
    assert result.uncovered_share == pytest.approx(250 / 1750)
    assert [c.code for c in result.uncovered] == ["C"]
    assert [(o.commune.code, o.cpts_ids) for o in result.overlaps] == [("B", ("x", "y"))]


def test_coverage_of_an_empty_territory() -> None:
    result = compute_coverage([], {})
    assert result.uncovered_share == 0.0
