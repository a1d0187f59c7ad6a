"""The funding rules in plain Python, on hand-computed cases: envelopes for each tier with and
without the policy levers, proration, fungibility, the payment schedule, status over time,
ACI/FIR overlaps and cent-exact splits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cpts_funding.domain.amounts import split_by_weights, split_share
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.eligibility import (
    StatusPeriod,
    aci_days,
    contract_anniversary,
    contract_year,
    maturity,
    status_at,
)
from cpts_funding.domain.envelope import Move, compute_envelope
from cpts_funding.domain.fungibility import Reason, decide
from cpts_funding.domain.levers import PolicyLevers, ReductionStep, neutral
from cpts_funding.domain.missions import Part
from cpts_funding.domain.overlaps import Financed, aci_fir_overlaps
from cpts_funding.domain.parameters import in_force, startup_top_up_year
from cpts_funding.domain.schedule import Instalment, due_by, payment_schedule
from cpts_funding.refdata import builtin_parameters
from cpts_kit.missions import Mission

D = Decimal
ACI_2019, AVENANT_2 = builtin_parameters()
FULL_2023 = 365


def envelope(population: int, year: int = 2023, **kwargs: object):  # type: ignore[no-untyped-def]
    params = {
        "year": year,
        "parameters": in_force(builtin_parameters(), year),
        "population": population,
        "maturity": 2,
        "aci_days": 365 if year != 2024 else 366,
        "levers": neutral(year),
        "crisis_first_year": True,  # the crisis plan's first year: in full (updates: tested apart)
    }
    params.update(kwargs)
    return compute_envelope(**params)  # type: ignore[arg-type]


def test_the_shipped_parameters_are_illustrative_and_match_the_sourced_ceilings() -> None:
    assert ACI_2019.illustrative and AVENANT_2.illustrative
    assert [t.ceiling for t in ACI_2019.tiers] == [D(220_000), D(287_000), D(370_000), D(450_000)]
    # The crisis mission of avenant 2 (all fixed): 25k / 30k / 40k / 50k on top.
    assert [t.ceiling for t in AVENANT_2.tiers] == [D(245_000), D(317_000), D(410_000), D(500_000)]
    assert [t.functioning for t in AVENANT_2.tiers] == [D(50_000), D(60_000), D(75_000), D(90_000)]
    assert in_force(builtin_parameters(), 2019) is ACI_2019
    assert in_force(builtin_parameters(), 2021) is ACI_2019
    assert in_force(builtin_parameters(), 2022) is AVENANT_2
    assert in_force(builtin_parameters(), 2018) is None


@pytest.mark.parametrize(
    ("population", "tier", "maximum", "theoretical"),
    [
        # theoretical without any indicator assessed = functioning + fixed parts + SNP
        (30_000, "T1", "245000.00", "165000.00"),  # 50k + 30k + 10k + 17k + 12k + 25k + 10.5k + 10.5k
        (40_000, "T2", "317000.00", "209500.00"),  # 60k + 40k + 12k + 22.5k + 17k + 30k + 14k + 14k
        (175_000, "T3", "410000.00", "270000.00"),  # 75k + 52k + 15k + 29k + 22k + 40k + 18.5k + 18.5k
        (175_001, "T4", "500000.00", "330000.00"),  # 90k + 63k + 20k + 35k + 27k + 50k + 22.5k + 22.5k
    ],
)
def test_full_year_envelope_of_each_tier(population: int, tier: str, maximum: str, theoretical: str) -> None:
    computed = envelope(population)
    assert computed.tier == tier
    assert computed.maximum == D(maximum)
    assert computed.theoretical == D(theoretical)
    assert computed.variable_earned_total == 0
    crisis = computed.line(Mission.CRISIS_RESPONSE)
    assert crisis is not None and crisis.variable_max == 0


def test_before_avenant_2_there_is_no_crisis_mission() -> None:
    computed = envelope(30_000, year=2021)
    assert computed.parameters is ACI_2019
    assert computed.line(Mission.CRISIS_RESPONSE) is None
    assert computed.maximum == D("220000.00")


def test_variable_part_earned_from_achievement() -> None:
    rates = {
        Mission.ACCESS_TO_CARE: D("0.80"),  # 40,000 × 0.8 = 32,000
        Mission.CARE_PATHWAYS: D("0.5"),  # 22,500 × 0.5 = 11,250
        Mission.PREVENTION: D(1),  # 17,000
        Mission.QUALITY_RELEVANCE: D(0),  # 0
        Mission.PROFESSIONAL_SUPPORT: D("0.3333"),  # 14,000 × 0.3333 = 4,666.20
    }
    computed = envelope(60_000, achievements=rates)
    assert computed.tier == "T2"
    earned = {line.mission: line.variable_earned for line in computed.lines}
    assert earned[Mission.PROFESSIONAL_SUPPORT] == D("4666.20")
    assert computed.variable_earned_total == D("64916.20")
    assert computed.theoretical == D("209500.00") + D("64916.20")
    assert computed.maximum == D("317000.00")


def test_proration_for_part_of_a_contract_year_under_the_aci() -> None:
    """184 of the 365 days under the ACI (here counted on the calendar year, as for a CPTS whose
    signature is not known; a suspension cuts a contract year the same way)."""
    history = [StatusPeriod("aci_signed", date(2023, 7, 1))]
    days = aci_days(history, 2023)
    assert days == 184  # 1 July to 31 December
    computed = envelope(30_000, aci_days=days, maturity=0)
    assert computed.functioning == D("25205.48")  # 50,000 × 184 / 365 = 25,205.479...
    access = computed.line(Mission.ACCESS_TO_CARE)
    assert access is not None
    assert (access.fixed, access.snp_compensation, access.variable_max) == (D("15123.29"), D("5041.10"), D("15123.29"))
    assert envelope(30_000, aci_days=0).eligible is False
    assert envelope(30_000, aci_days=0).maximum == 0


def test_functioning_credits_reduced_with_maturity() -> None:
    levers = PolicyLevers(
        year=2023,
        functioning_reduction=(ReductionStep(0, D(0)), ReductionStep(3, D("0.25")), ReductionStep(5, D("0.5"))),
    )
    assert envelope(60_000, maturity=2, levers=levers).functioning == D("60000.00")
    assert envelope(60_000, maturity=3, levers=levers).functioning == D("45000.00")
    assert envelope(60_000, maturity=4, levers=levers).functioning == D("45000.00")
    reduced = envelope(60_000, maturity=7, levers=levers)
    assert reduced.functioning == D("30000.00") and reduced.functioning_reduction == D("0.5")
    assert reduced.maximum == D("317000.00") - D("30000.00")  # missions untouched
    # T4, maturity 4, half a year: 90,000 × 0.75 × 183 / 365 = 33,842.47
    assert envelope(200_000, maturity=4, aci_days=183, levers=levers).functioning == D("33842.47")
    assert maturity(date(2019, 9, 1), 2023) == 4 and maturity(date(2023, 9, 1), 2023) == 0
    assert maturity(None, 2023) == 0


def test_a_larger_variable_share_keeps_each_mission_total() -> None:
    levers = PolicyLevers(year=2023, variable_share=D("0.6"))
    computed = envelope(60_000, levers=levers)
    lines = {line.mission: line for line in computed.lines}
    assert (lines[Mission.ACCESS_TO_CARE].fixed, lines[Mission.ACCESS_TO_CARE].variable_max) == (D(32_000), D(48_000))
    assert lines[Mission.ACCESS_TO_CARE].snp_compensation == D(12_000)  # stays fixed
    assert (lines[Mission.CARE_PATHWAYS].fixed, lines[Mission.CARE_PATHWAYS].variable_max) == (D(18_000), D(27_000))
    assert (lines[Mission.PREVENTION].fixed, lines[Mission.PREVENTION].variable_max) == (D(13_600), D(20_400))
    assert (lines[Mission.CRISIS_RESPONSE].fixed, lines[Mission.CRISIS_RESPONSE].variable_max) == (D(30_000), D(0))
    assert computed.maximum == D("317000.00")  # the same money, more of it conditional
    assert computed.theoretical == D("188000.00")  # 60k + 44k + 18k + 13.6k + 30k + 11.2k + 11.2k
    # Both levers together, on T1 in 2022, half a year, maturity 3:
    both = PolicyLevers(year=2022, variable_share=D("0.75"), functioning_reduction=(ReductionStep(3, D("0.2")),))
    combined = envelope(10_000, year=2022, aci_days=181, maturity=3, levers=both)
    assert combined.functioning == D("19835.62")  # 50,000 × 0.8 × 181 / 365 = 19,835.616...
    access = combined.line(Mission.ACCESS_TO_CARE)
    assert access is not None
    assert access.variable_max == D("22315.07")  # 60,000 × 0.75 × 181 / 365 = 22,315.068...
    assert access.fixed == D("29753.42") - D("22315.07")  # 60,000 × 181 / 365 = 29,753.424...


def test_fungibility_within_the_cpts_cap_and_the_national_cap() -> None:
    levers = PolicyLevers(year=2023, fungibility_share=D("0.10"), fungibility_national_cap=D("20000"))
    t2 = envelope(60_000, levers=levers)  # mission money 257,000: the CPTS may move 25,700

    def ask(amount: str, source: Mission, target: Mission, by_cpts: str = "0", nationally: str = "0"):  # type: ignore[no-untyped-def]
        return decide(
            envelope=t2,
            levers=levers,
            from_mission=source,
            to_mission=target,
            amount=D(amount),
            already_moved_by_cpts=D(by_cpts),
            already_moved_nationally=D(nationally),
        )

    accepted = ask("10000", Mission.PREVENTION, Mission.ACCESS_TO_CARE)
    assert accepted.accepted and accepted.code is Reason.ACCEPTED
    assert ask("17000.01", Mission.PREVENTION, Mission.ACCESS_TO_CARE).code is Reason.EXCEEDS_SOURCE
    assert ask("16000", Mission.CARE_PATHWAYS, Mission.PREVENTION, by_cpts="10000").code is Reason.EXCEEDS_CPTS_CAP
    refused = ask("15000", Mission.CARE_PATHWAYS, Mission.PREVENTION, by_cpts="10000", nationally="10000")
    assert refused.code is Reason.EXCEEDS_NATIONAL_CAP and "20000" in refused.reason
    uncapped = PolicyLevers(year=2023, fungibility_share=D("0.10"))
    assert decide(
        envelope=t2,
        levers=uncapped,
        from_mission=Mission.CARE_PATHWAYS,
        to_mission=Mission.PREVENTION,
        amount=D("15700"),
        already_moved_by_cpts=D("10000"),
        already_moved_nationally=D("999999"),
    ).accepted  # exactly the CPTS's cap
    closed = decide(
        envelope=t2,
        levers=neutral(2023),
        from_mission=Mission.PREVENTION,
        to_mission=Mission.ACCESS_TO_CARE,
        amount=D("1"),
        already_moved_by_cpts=D(0),
        already_moved_nationally=D(0),
    )
    assert closed.code is Reason.CLOSED and not closed.accepted
    old = envelope(60_000, year=2021, levers=PolicyLevers(year=2021, fungibility_share=D("0.1")))
    no_crisis = decide(
        envelope=old,
        levers=PolicyLevers(year=2021, fungibility_share=D("0.1")),
        from_mission=Mission.PREVENTION,
        to_mission=Mission.CRISIS_RESPONSE,
        amount=D("1"),
        already_moved_by_cpts=D(0),
        already_moved_nationally=D(0),
    )
    assert no_crisis.code is Reason.MISSION_NOT_IN_ENVELOPE
    outside = decide(
        envelope=envelope(60_000, aci_days=0),
        levers=levers,
        from_mission=Mission.PREVENTION,
        to_mission=Mission.ACCESS_TO_CARE,
        amount=D("1"),
        already_moved_by_cpts=D(0),
        already_moved_nationally=D(0),
    )
    assert outside.code is Reason.NOT_A_SIGNATORY


def test_accepted_moves_shift_fixed_parts_and_keep_the_total() -> None:
    moved = envelope(60_000, moves=[Move(Mission.PREVENTION, Mission.ACCESS_TO_CARE, D("10000"))])
    prevention, access = moved.line(Mission.PREVENTION), moved.line(Mission.ACCESS_TO_CARE)
    assert prevention is not None and access is not None
    assert (prevention.fixed, prevention.reallocated) == (D("7000.00"), D("-10000"))
    assert (access.fixed, access.reallocated) == (D("50000.00"), D("10000"))
    assert moved.maximum == D("317000.00") and moved.theoretical == D("209500.00")


def test_payment_schedule_after_the_signature_year() -> None:
    # T2 signed 15 March 2021, year 2023: 75 % at the 2023 anniversary, the rest at the next.
    computed = envelope(60_000, achievements={Mission.PREVENTION: D("0.5")})
    dues = payment_schedule(computed, date(2021, 3, 15))
    functioning = [d for d in dues if d.mission is Mission.FUNCTIONING]
    assert [(d.due_on, d.instalment, d.amount) for d in functioning] == [
        (date(2023, 3, 15), Instalment.ADVANCE, D("45000.00")),
        (date(2024, 3, 15), Instalment.BALANCE, D("15000.00")),
    ]
    access = [d for d in dues if d.mission is Mission.ACCESS_TO_CARE]
    assert [(d.due_on, d.part, d.amount) for d in access] == [
        (date(2023, 3, 15), Part.FIXED, D("39000.00")),  # 75 % of 40,000 + 12,000
        (date(2024, 3, 15), Part.FIXED, D("13000.00")),
    ]
    variable = [d for d in dues if d.part is Part.VARIABLE]
    assert [(d.mission, d.due_on, d.instalment, d.amount) for d in variable] == [
        (Mission.PREVENTION, date(2024, 3, 15), Instalment.AFTER_ASSESSMENT, D("8500.00"))
    ]
    # The crisis plan's first year in full at the mission's start; an update year 75 % / 25 %.
    crisis = [(d.due_on, d.instalment, d.amount) for d in dues if d.mission is Mission.CRISIS_RESPONSE]
    assert crisis == [(date(2023, 3, 15), Instalment.FULL, D("30000.00"))]
    update = payment_schedule(envelope(60_000, crisis_first_year=False), date(2021, 3, 15))
    assert [(d.instalment, d.amount) for d in update if d.mission is Mission.CRISIS_RESPONSE] == [
        (Instalment.ADVANCE, D("11250.00")),
        (Instalment.BALANCE, D("3750.00")),
    ]
    assert sum(d.amount for d in dues) == computed.theoretical
    assert due_by(dues, date(2023, 12, 31)) == D("45000.00") + D("39000.00") + D("16875.00") + D("12750.00") + D(
        "30000.00"
    ) + D("10500.00") + D("10500.00")


def test_payment_schedule_of_the_signature_year() -> None:
    history = [StatusPeriod("aci_signed", date(2023, 7, 1))]
    computed = envelope(30_000, aci_days=aci_days(history, 2023), maturity=0)
    dues = payment_schedule(computed, date(2023, 7, 1))
    assert dues[0].mission is Mission.FUNCTIONING and dues[0].instalment is Instalment.FULL
    assert (dues[0].due_on, dues[0].amount) == (date(2023, 7, 1), D("25205.48"))  # in full at the signature
    access = [d.amount for d in dues if d.mission is Mission.ACCESS_TO_CARE]
    assert access == [D("15123.29"), D("5041.10")]  # 75 % / 25 % of 20,164.39
    assert sum(d.amount for d in dues) == computed.theoretical
    assert payment_schedule(computed, date(2024, 1, 5)) == []  # not yet signed that year


def test_status_over_time_with_a_suspension() -> None:
    history = [
        StatusPeriod("intention_letter_signed", date(2020, 5, 1)),
        StatusPeriod("health_project_validated", date(2021, 2, 1)),
        StatusPeriod("aci_signed", date(2022, 1, 1)),
        StatusPeriod("suspended", date(2022, 7, 1)),
        StatusPeriod("aci_signed", date(2022, 10, 1)),
    ]
    assert status_at(history, date(2020, 4, 30)) is None
    assert status_at(history, date(2021, 12, 31)) == "health_project_validated"
    assert status_at(history, date(2022, 1, 1)) == "aci_signed"
    assert status_at(history, date(2022, 8, 15)) == "suspended"
    assert aci_days(history, 2021) == 0
    assert aci_days(history, 2022) == 181 + 92  # January-June and October-December
    assert aci_days(history, 2024) == 366
    assert contract_anniversary(date(2020, 2, 29), 2021) == date(2021, 2, 28)


def test_envelopes_run_by_contract_year() -> None:
    """From the signature to the day before the anniversary, then anniversary to anniversary;
    the calendar year before any signature. A suspension cuts the contract year's days."""
    signed = date(2022, 1, 1)
    history = [
        StatusPeriod("aci_signed", signed),
        StatusPeriod("suspended", date(2022, 7, 1)),
        StatusPeriod("aci_signed", date(2022, 10, 1)),
    ]
    assert contract_year(signed, 2022) == (date(2022, 1, 1), date(2022, 12, 31))
    assert aci_days(history, 2022, signed_on=signed) == 181 + 92
    leap = date(2020, 2, 29)
    assert contract_year(leap, 2020) == (leap, date(2021, 2, 27))  # the anniversary falls on 28 February
    assert contract_year(leap, 2021) == (date(2021, 2, 28), date(2022, 2, 27))
    assert contract_year(date(2021, 6, 1), 2019) == (date(2019, 1, 1), date(2019, 12, 31))
    june = [StatusPeriod("aci_signed", date(2021, 6, 1)), StatusPeriod("dissolved", date(2023, 1, 1))]
    assert aci_days(june, 2021, signed_on=date(2021, 6, 1)) == 365  # a whole first contract year
    assert aci_days(june, 2022, signed_on=date(2021, 6, 1)) == 214  # 1 June to 31 December 2022
    assert aci_days(june, 2023, signed_on=date(2021, 6, 1)) == 0


def test_the_start_up_top_up_falls_in_the_first_year_under_avenant_2() -> None:
    versions = builtin_parameters()
    assert startup_top_up_year(versions, date(2019, 10, 1)) == 2022
    assert startup_top_up_year(versions, date(2021, 12, 20)) == 2022
    assert startup_top_up_year(versions, date(2022, 2, 1)) is None  # signed under avenant 2's year


def test_aci_and_fir_on_the_same_mission_year_are_reported() -> None:
    zero = D("0.00")
    rows = [
        Financed("a", 2023, "prevention", FunderCategory.ACI, D("34000"), D("17000")),
        Financed("a", 2023, "prevention", FunderCategory.FIR, zero, D("15000")),
        Financed("a", 2023, "functioning", FunderCategory.FIR, zero, D("40000")),  # no ACI money
        Financed("b", 2023, "access_to_care", FunderCategory.ACI, D("92000"), zero),
        Financed("b", 2023, "access_to_care", FunderCategory.FIR, D("10000"), zero),  # allocated only
        Financed("c", 2023, "prevention", FunderCategory.ACI, zero, D("100")),
        Financed("c", 2023, "prevention", FunderCategory.FIR, zero, zero),  # reversed to nothing
        Financed("d", 2023, "prevention", FunderCategory.LOCAL_REGION, zero, D("5000")),
    ]
    found = aci_fir_overlaps(rows)
    assert [(o.cpts_id, o.mission, o.fir_paid, o.fir_allocated) for o in found] == [
        ("a", "prevention", D("15000"), zero),
        ("b", "access_to_care", zero, D("10000")),
    ]


def test_splits_never_lose_a_cent() -> None:
    assert split_by_weights(D("100.00"), [D(1), D(1), D(1)]) == [D("33.34"), D("33.33"), D("33.33")]
    parts = split_by_weights(D("121000000.00"), [D("245000"), D("0.01"), D("317000.33"), D("1")])
    assert sum(parts) == D("121000000.00") and all(p >= 0 for p in parts)
    assert split_share(D("20164.39"), D("0.75")) == (D("15123.29"), D("5041.10"))
    assert split_share(D("0.01"), D("0.75")) == (D("0.01"), D("0.00"))
    with pytest.raises(ValueError, match="weights"):
        split_by_weights(D("1.00"), [D(0)])
