"""The rules in plain Python, on hand-computed cases: default targets from tier and maturity,
adjustment bounds, quantitative rates in both directions, qualitative grades, evidence
weighting, weights across a mission, the variable part earned, the dialogue calendar and the
catalogue's checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from cpts_indicators.domain import achievement as rules
from cpts_indicators.domain import activity, catalogue
from cpts_indicators.domain.catalogue import Direction, Evidence, Grade, Indicator, Kind, TierDefault
from cpts_indicators.domain.dialogue import anniversary, dialogue_due, dialogue_missing
from cpts_indicators.domain.targets import Target, adjustment_problem, default_target, maturity
from cpts_kit.missions import Mission

D = Decimal
SHIPPED = catalogue.from_document(catalogue.shipped())
GRADES = tuple(Grade(code, f"criterion of {code}") for code in ("none", "planned", "started", "deployed", "evaluated"))


def quantitative(direction: Direction, baseline: str, target: str, weight: str = "1") -> Indicator:
    return Indicator(
        code="q",
        mission=Mission.ACCESS_TO_CARE,
        name="q",
        kind=Kind.QUANTITATIVE,
        weight=D(weight),
        evidence=frozenset(Evidence),
        unit="patients",
        direction=direction,
        baseline_rule="zero",
        defaults={t: TierDefault(D(baseline), D(target)) for t in catalogue.TIERS},
    )


QUALITATIVE = Indicator(
    code="g", mission=Mission.PREVENTION, name="g", kind=Kind.QUALITATIVE, weight=D(1),
    evidence=frozenset(Evidence), grades=GRADES,
)  # fmt: skip


def test_the_shipped_catalogue_is_sound_illustrative_and_has_no_crisis_indicator() -> None:
    assert catalogue.problems(SHIPPED) == []
    assert SHIPPED.illustrative and "ILLUSTRATIVE" in SHIPPED.label
    assert not SHIPPED.of_mission(Mission.CRISIS_RESPONSE)
    for mission in catalogue.VARIABLE_MISSIONS:
        assert sum(i.weight for i in SHIPPED.of_mission(mission)) == 1


def test_catalogue_problems_are_named() -> None:
    heavy = replace(SHIPPED, indicators=(replace(SHIPPED.indicators[0], weight=D("0.9")), *SHIPPED.indicators[1:]))
    assert ("indicators", "the weights of access_to_care add up to 1.50, not 1") in catalogue.problems(heavy)
    reversed_lower = quantitative(Direction.LOWER, "3", "4")
    found = catalogue.problems(replace(SHIPPED, indicators=(*SHIPPED.indicators, replace(reversed_lower, code="x"))))
    assert any("lower is better" in message for _, message in found)
    crisis = replace(QUALITATIVE, code="c", mission=Mission.CRISIS_RESPONSE)
    assert any(
        "crisis_response has no variable part" in m
        for _, m in catalogue.problems(replace(SHIPPED, indicators=(*SHIPPED.indicators, crisis)))
    )


def test_maturity_counts_whole_years_since_the_first_signature() -> None:
    assert maturity(date(2021, 3, 15), 2021) == 0
    assert maturity(date(2021, 3, 15), 2023) == 2
    assert maturity(None, 2023) == 0 and maturity(date(2024, 1, 1), 2023) == 0


def test_default_targets_grow_with_maturity_up_to_the_cap() -> None:
    higher = quantitative(Direction.HIGHER, "0", "200")
    lower = quantitative(Direction.LOWER, "4.00", "3.00")
    assert default_target(SHIPPED, higher, "T2", 0).target == D("200.00")
    assert default_target(SHIPPED, higher, "T2", 2).target == D("300.00")  # × 1.5
    assert default_target(SHIPPED, higher, "T2", 9).target == D("400.00")  # capped at 4 years: × 2
    assert default_target(SHIPPED, lower, "T2", 2).target == D("2.50")  # 4 − 1 × 1.5
    assert [default_target(SHIPPED, QUALITATIVE, "T1", m).grade for m in (0, 1, 2, 3, 7)] == [
        "planned", "started", "deployed", "evaluated", "evaluated",
    ]  # fmt: skip


def test_adjustment_bounds() -> None:
    higher = quantitative(Direction.HIGHER, "0", "200")
    default = default_target(SHIPPED, higher, "T2", 0)  # 200, bounds 140–260

    def wanted(value: str) -> Target:
        return Target("q", default.baseline, D(value), None)

    assert adjustment_problem(SHIPPED, higher, default, wanted("140")) is None
    assert adjustment_problem(SHIPPED, higher, default, wanted("260")) is None
    assert "within ±30%" in (adjustment_problem(SHIPPED, higher, default, wanted("139.99")) or "")
    assert "within ±30%" in (adjustment_problem(SHIPPED, higher, default, wanted("260.01")) or "")
    small = quantitative(Direction.HIGHER, "10", "12")
    near = default_target(SHIPPED, small, "T1", 0)  # 12, bounds 8.40–15.60 but never at or below the baseline 10
    assert "above the baseline" in (adjustment_problem(SHIPPED, small, near, Target("q", D(10), D(9), None)) or "")
    start = default_target(SHIPPED, QUALITATIVE, "T1", 1)  # started
    assert adjustment_problem(SHIPPED, QUALITATIVE, start, Target("g", None, None, "deployed")) is None
    assert adjustment_problem(SHIPPED, QUALITATIVE, start, Target("g", None, None, "evaluated")) is not None


def test_quantitative_rates_in_both_directions() -> None:
    higher = quantitative(Direction.HIGHER, "0", "300")
    target = Target("q", D(0), D(300), None)
    assert rules.indicator_rate(higher, target, "240")[0] == D("0.8")
    assert rules.indicator_rate(higher, target, "450")[0] == 1  # at most 1
    lower = quantitative(Direction.LOWER, "4.00", "2.50")
    low = Target("q", D("4.00"), D("2.50"), None)
    assert rules.indicator_rate(lower, low, "3.10")[0] == D("0.6")  # (3.10 − 4) / (2.50 − 4)
    assert rules.indicator_rate(lower, low, "4.50")[0] == 0  # worse than the baseline: 0
    assert rules.indicator_rate(lower, low, "2.00")[0] == 1


def test_qualitative_grades() -> None:
    target = Target("g", None, None, "deployed")  # position 3
    assert rules.rate4(rules.indicator_rate(QUALITATIVE, target, "started")[0]) == D("0.6667")
    assert rules.indicator_rate(QUALITATIVE, target, "evaluated")[0] == 1
    assert rules.indicator_rate(QUALITATIVE, target, "none")[0] == 0
    assert rules.indicator_rate(QUALITATIVE, Target("g", None, None, "none"), "none")[0] == 1


def test_declarative_evidence_counts_for_half_and_weights_make_the_mission() -> None:
    a = quantitative(Direction.HIGHER, "0", "100", weight="0.6")
    b = replace(quantitative(Direction.HIGHER, "0", "10", weight="0.4"), code="b")
    ta, tb = Target("q", D(0), D(100), None), Target("b", D(0), D(10), None)
    full = rules.assess_indicator(a, ta, rules.Measured("90", Evidence.DOCUMENT))
    half = rules.assess_indicator(b, tb, rules.Measured("10", Evidence.DECLARATIVE))
    assert (full.rate, full.counted) == (D("0.9000"), D("0.9000"))
    assert (half.rate, half.factor, half.counted) == (D("1.0000"), D("0.5"), D("0.5000"))
    assert "declarative evidence only" in half.how
    # 0.6 × 0.9 + 0.4 × 0.5 = 0.74
    assert rules.mission_rate([full, half]) == D("0.7400")
    unmeasured = rules.assess_indicator(b, tb, None)
    assert unmeasured.counted == 0 and rules.mission_rate([full, unmeasured]) == D("0.5400")
    assert rules.mission_rate([]) == D("0.0000")
    assert rules.variable_earned(D("40000.00"), D("0.7400")) == D("29600.00")
    assert rules.variable_earned(D("17000.00"), D("0.8667")) == D("14733.90")
    assert rules.variable_earned(None, D("0.5")) is None


def test_declarative_share() -> None:
    assert rules.declarative_share([]) is None
    assert rules.declarative_share([Evidence.DECLARATIVE, Evidence.DOCUMENT, Evidence.SYSTEM_DATA]) == D("0.3333")


def test_anniversaries_and_missing_dialogues() -> None:
    assert anniversary(date(2021, 3, 15), 2021) is None
    assert anniversary(date(2021, 3, 15), 2023) == date(2023, 3, 15)
    assert anniversary(date(2020, 2, 29), 2023) == date(2023, 2, 28)
    signed = date(2021, 3, 15)
    # The dialogue on 2023 is due at the anniversary after the year's end: 15 March 2024.
    assert dialogue_due(signed, 2023) == date(2024, 3, 15) and dialogue_due(signed, 2021) == date(2022, 3, 15)
    assert dialogue_due(signed, 2020) is None
    assert dialogue_missing(signed, 2023, held=False, as_of=date(2024, 3, 15)) is True
    assert dialogue_missing(signed, 2023, held=False, as_of=date(2024, 3, 14)) is False
    assert dialogue_missing(signed, 2023, held=True, as_of=date(2023, 12, 31)) is False
    assert dialogue_missing(None, 2023, held=False, as_of=date(2023, 12, 31)) is False


def test_empty_shell_signals() -> None:
    signals = activity.assess(
        funded={Mission.ACCESS_TO_CARE, Mission.PREVENTION, Mission.CRISIS_RESPONSE},
        measured={Mission.PREVENTION: [Evidence.DECLARATIVE, Evidence.DECLARATIVE, Evidence.DOCUMENT]},
        signed_on=date(2021, 3, 15),
        year=2023,
        dialogue_held=False,
        as_of=date(2024, 3, 15),
    )
    assert signals.missions_funded_without_measurement == [Mission.ACCESS_TO_CARE]  # crisis: all fixed
    assert signals.declarative_share == D("0.6667") and signals.dialogue_missing is True
