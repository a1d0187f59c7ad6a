"""Each rule on hand-made facts that trigger it, and on facts that must not."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cpts_audit.domain import facts as f
from cpts_audit.domain.findings import Severity, finding_id
from cpts_audit.domain.rules import all_rules, by_id

D = Decimal
CPTS = "11111111-1111-4111-8111-111111111111"


def base(**kwargs: object) -> f.CptsFacts:
    facts = f.CptsFacts(f.CptsInfo(CPTS, "94", "2A", "CPTS test", "aci_signed", date(2022, 3, 1)))
    for name, value in kwargs.items():
        setattr(facts, name, value)
    return facts


def flow(
    category: str,
    amount: str,
    *,
    year: int = 2023,
    mission: str = "functioning",
    on: date | None = None,
    kind: str = "payment",
    funder: str = "CPAM",
) -> f.Flow:
    return f.Flow(
        f"flow-{category}-{amount}-{mission}-{kind}",
        kind,
        category,
        funder,
        year,
        mission,
        D(amount),
        on or date(year, 3, 15),
        "ev",
    )


def accounts(
    revenue: dict[str, str],
    *,
    year: int = 2023,
    expenses: str = "120000.00",
    reserves: str = "20000.00",
    cash: str = "20000.00",
    real_estate: str = "0.00",
    flagged: tuple[f.FlaggedEntry, ...] = (),
) -> f.Accounts:
    rev = {k: D(v) for k, v in revenue.items()}
    return f.Accounts(
        "doc-1",
        year,
        sum(rev.values(), D(0)),
        D(expenses),
        rev,
        D(reserves),
        D(cash),
        D(real_estate),
        flagged,
        {},
        "ev-acc",
    )


def declaration(sources: list[tuple[str, str]], *, year: int = 2023) -> f.Declaration:
    return f.Declaration("decl-1", year, 1, tuple(f.DeclaredSource(c, None, D(a)) for c, a in sources), "ev-decl")


def run(rule: str, facts: f.CptsFacts) -> list:  # type: ignore[type-arg]
    return by_id()[rule].run(facts)


def test_at_least_the_eleven_rules_each_with_rationale_and_versioned_parameters() -> None:
    ids = {r.id for r in all_rules()}
    assert {
        "undeclared_source",
        "declared_not_booked",
        "paid_not_booked",
        "aci_above_maximum",
        "aci_fir_same_mission",
        "missing_financial_transmission",
        "hoarding",
        "out_of_mission_spending",
        "real_estate_purchase",
        "health_industry_funding",
        "remuneration_above_frame",
        "empty_shell",
    } <= ids
    for rule in all_rules():
        assert rule.title and ("Sénat" in rule.rationale or "ACI" in rule.rationale)
        assert rule.parameters and all(p.version and p.values for p in rule.parameters)


def test_parameters_are_chosen_by_effective_date() -> None:
    from dataclasses import replace

    from cpts_audit.domain.parameters import ParameterVersion

    rule = by_id()["hoarding"]
    newer = replace(
        rule,
        parameters=(
            *rule.parameters,
            ParameterVersion("2026-1", date(2026, 1, 1), {"months": "6", "high_months": "12", "growth_years": 3}),
        ),
    )
    assert newer.parameters_for(2025).version == "2025-1"
    assert newer.parameters_for(2026).version == "2026-1"
    facts = base(
        accounts={2026: accounts({"assurance_maladie": "150000.00"}, year=2026, reserves="90000.00")},
        flows=[flow("aci", "150000.00", year=2026)],
    )
    assert run("hoarding", facts) == []  # 9 months: under the 2025 threshold
    assert [c.key for c in newer.run(facts)] == ["months"]  # above the 2026 one


class TestUndeclaredSource:
    def test_undeclared_laboratory_money_is_high_even_without_declaration(self) -> None:
        lab = f.FlaggedEntry(
            17, "706000", "Formation financée par Laboratoire Sanofi", D("4000.00"), ("health_industry",)
        )
        facts = base(
            accounts={2023: accounts({"assurance_maladie": "120000.00", "pharma_industry": "4000.00"}, flagged=(lab,))}
        )
        [found] = run("undeclared_source", facts)
        assert (found.key, found.severity, found.amount) == ("pharma", Severity.HIGH, D("4000.00"))
        assert any(e.kind == "fec_line" and e.detail["line"] == 17 for e in found.evidence)
        assert "non déclaré" in found.explanation

    def test_a_smaller_declared_amount_is_the_gap(self) -> None:
        facts = base(
            accounts={2023: accounts({"assurance_maladie": "120000.00", "subsidy_region": "20000.00"})},
            declarations={2023: declaration([("aci", "120000.00"), ("local_region", "5000.00")])},
        )
        [found] = run("undeclared_source", facts)
        assert (found.key, found.severity, found.amount) == ("region", Severity.MEDIUM, D("15000.00"))

    def test_declared_sources_matching_the_accounts_raise_nothing(self) -> None:
        facts = base(
            accounts={
                2023: accounts(
                    {"assurance_maladie": "120000.00", "pharma_industry": "4000.00", "subsidy_municipal": "5000.00"}
                )
            },
            declarations={
                2023: declaration(
                    [
                        ("aci", "120000.00"),
                        ("pharma", "4000.00"),
                        ("local_commune", "2000.00"),
                        ("local_intercommunality", "3000.00"),
                    ]
                )
            },
        )
        assert run("undeclared_source", facts) == []

    def test_within_tolerance_is_not_a_finding(self) -> None:
        facts = base(
            accounts={2023: accounts({"assurance_maladie": "120400.00"})},
            declarations={2023: declaration([("aci", "120000.00")])},
        )
        assert run("undeclared_source", facts) == []


class TestDeclaredNotBooked:
    def test_declared_but_missing_from_the_accounts(self) -> None:
        facts = base(
            accounts={2023: accounts({"assurance_maladie": "100000.00"})},
            declarations={2023: declaration([("aci", "120000.00")])},
        )
        [found] = run("declared_not_booked", facts)
        assert (found.key, found.amount) == ("assurance_maladie", D("20000.00"))

    def test_no_accounts_no_comparison(self) -> None:
        assert run("declared_not_booked", base(declarations={2023: declaration([("aci", "120000.00")])})) == []


class TestPaidNotBooked:
    def test_aci_paid_but_not_booked(self) -> None:
        facts = base(accounts={2023: accounts({"assurance_maladie": "50000.00"})}, flows=[flow("aci", "120000.00")])
        [found] = run("paid_not_booked", facts)
        assert (found.key, found.severity, found.amount) == ("assurance_maladie", Severity.HIGH, D("70000.00"))
        assert [e.kind for e in found.evidence] == ["document", "flow"]

    def test_a_balance_paid_after_the_timing_tolerance_is_left_out(self) -> None:
        late = flow("aci", "30000.00", on=date(2024, 6, 1), mission="prevention")
        facts = base(
            accounts={2023: accounts({"assurance_maladie": "120000.00"})}, flows=[flow("aci", "120000.00"), late]
        )
        assert run("paid_not_booked", facts) == []

    def test_recoveries_reduce_what_was_paid(self) -> None:
        facts = base(
            accounts={2023: accounts({"subsidy_ars_fir": "20000.00"})},
            flows=[flow("fir", "30000.00"), flow("fir", "10000.00", kind="recovery")],
        )
        assert run("paid_not_booked", facts) == []


class TestAciAboveMaximum:
    def test_paid_above_the_envelope_maximum(self) -> None:
        env = f.Envelope(2023, D("300000.00"), D("280000.00"), {}, "ev-env")
        facts = base(
            envelopes={2023: env}, flows=[flow("aci", "250000.00"), flow("aci", "80000.00", mission="prevention")]
        )
        [found] = run("aci_above_maximum", facts)
        assert (found.severity, found.amount) == (Severity.HIGH, D("30000.00"))
        assert sum(1 for e in found.evidence if e.kind == "flow") == 2

    def test_funding_s_over_maximum_event_is_used(self) -> None:
        reported = f.OverMaximum(2023, D("300000.00"), D("310000.00"), D("10000.00"), ("flow-x",), "ev-om")
        [found] = run("aci_above_maximum", base(over_maximum={2023: reported}))
        assert found.amount == D("10000.00") and any(e.id == "flow-x" for e in found.evidence)

    def test_at_the_maximum_is_fine(self) -> None:
        env = f.Envelope(2023, D("300000.00"), D("280000.00"), {}, "ev-env")
        assert run("aci_above_maximum", base(envelopes={2023: env}, flows=[flow("aci", "300000.00")])) == []

    def test_the_lettre_d_intention_lump_sum_is_outside_the_envelope(self) -> None:
        """Funding pays it before the contract, outside any envelope: it never counts against the
        maximum (the two services agree on what the envelope caps)."""
        from dataclasses import replace

        env = f.Envelope(2023, D("300000.00"), D("280000.00"), {}, "ev-env")
        lump_sum = replace(flow("aci", "30000.00", on=date(2023, 2, 1)), aci_basis="intention_letter_lump_sum")
        facts = base(envelopes={2023: env}, flows=[flow("aci", "300000.00"), lump_sum])
        assert run("aci_above_maximum", facts) == []
        over = base(envelopes={2023: env}, flows=[flow("aci", "300500.00"), lump_sum])
        [found] = run("aci_above_maximum", over)
        assert found.amount == D("500.00") and all(e.id != lump_sum.flow_id for e in found.evidence)


class TestAciFirSameMission:
    def test_both_on_prevention_after_signature(self) -> None:
        facts = base(
            flows=[
                flow("aci", "20000.00", mission="prevention"),
                flow("fir", "15000.00", mission="prevention", funder="ARS"),
            ]
        )
        [found] = run("aci_fir_same_mission", facts)
        assert (found.key, found.amount) == ("prevention", D("15000.00"))

    def test_fir_before_signature_or_on_another_mission_is_fine(self) -> None:
        facts = base(
            flows=[
                flow("aci", "20000.00", mission="prevention"),
                flow("fir", "15000.00", mission="prevention", on=date(2022, 1, 10), year=2023),
                flow("fir", "15000.00", mission="access_to_care"),
            ]
        )
        assert run("aci_fir_same_mission", facts) == []


class TestMissingFinancialTransmission:
    def test_activity_report_without_financial_part_is_high(self) -> None:
        report = f.DocumentNotice(
            "received", 2023, "activity_report", "doc-ar", "activity_report v1", False, "accepted", "ev"
        )
        [found] = run("missing_financial_transmission", base(documents=[report], flows=[flow("aci", "100000.00")]))
        assert found.severity == Severity.HIGH and found.amount == D("100000.00")
        assert "amputé de sa partie financière" in found.explanation

    def test_overdue_fec_then_received_closes(self) -> None:
        late = f.DocumentNotice("overdue", 2023, "fec", "accounts", "Comptes annuels", None, None, "ev")
        assert len(run("missing_financial_transmission", base(documents=[late]))) == 1
        sent = f.DocumentNotice("received", 2023, "fec", "doc-fec", "fec v1", None, "accepted", "ev2")
        assert run("missing_financial_transmission", base(documents=[late, sent])) == []

    def test_rejected_fec_is_a_finding_until_a_valid_one(self) -> None:
        rejected = f.DocumentNotice("rejected", 2023, "fec", "doc-bad", "fec v1", None, "rejected", "ev")
        assert [c.key for c in run("missing_financial_transmission", base(documents=[rejected]))] == ["rejected:fec"]

    def test_a_report_with_its_financial_part_is_fine(self) -> None:
        report = f.DocumentNotice("received", 2023, "activity_report", "doc-ar", "ar", True, "accepted", "ev")
        assert run("missing_financial_transmission", base(documents=[report])) == []


class TestHoarding:
    def test_reserves_above_twenty_four_months_while_funded(self) -> None:
        facts = base(
            accounts={2023: accounts({"assurance_maladie": "120000.00"}, reserves="300000.00")},
            flows=[flow("aci", "120000.00")],
        )
        [found] = run("hoarding", facts)
        assert (found.key, found.severity) == ("months", Severity.HIGH)
        assert found.amount == D("300000.00") - D("120000.00")  # above 12 months of 10,000 €

    def test_not_when_funding_stopped(self) -> None:
        assert run("hoarding", base(accounts={2023: accounts({}, reserves="300000.00")})) == []

    def test_growing_three_years_in_a_row(self) -> None:
        years = {
            y: accounts({"assurance_maladie": "100000.00"}, year=y, reserves=r)
            for y, r in ((2021, "10000.00"), (2022, "20000.00"), (2023, "30000.00"))
        }
        facts = base(accounts=years, flows=[flow("aci", "100000.00", year=y) for y in (2021, 2022, 2023)])
        assert [(c.fiscal_year, c.key) for c in run("hoarding", facts)] == [(2023, "growth")]

    def test_modest_stable_reserves_are_fine(self) -> None:
        years = {
            y: accounts({"assurance_maladie": "100000.00"}, year=y, reserves="30000.00") for y in (2021, 2022, 2023)
        }
        assert (
            run("hoarding", base(accounts=years, flows=[flow("aci", "1.00", year=y) for y in (2021, 2022, 2023)])) == []
        )


class TestOutOfMissionSpending:
    def test_yoga_and_theatre(self) -> None:
        yoga = f.FlaggedEntry(27, "604000", "Séance de yoga", D("800.00"), ("leisure_or_culture",))
        theatre = f.FlaggedEntry(
            29, "625700", "Soirée théâtre", D("2500.00"), ("reception_or_gift", "leisure_or_culture")
        )
        [found] = run("out_of_mission_spending", base(accounts={2023: accounts({}, flagged=(yoga, theatre))}))
        assert (found.severity, found.amount) == (Severity.HIGH, D("3300.00"))
        assert [e.detail["line"] for e in found.evidence] == [27, 29]

    def test_other_flags_are_not_out_of_mission(self) -> None:
        lab = f.FlaggedEntry(17, "706000", "Laboratoire", D("4000.00"), ("health_industry",))
        assert run("out_of_mission_spending", base(accounts={2023: accounts({}, flagged=(lab,))})) == []


class TestRealEstate:
    def test_purchase_of_premises(self) -> None:
        building = f.FlaggedEntry(31, "213100", "Acquisition local", D("150000.00"), ("real_estate",))
        [found] = run(
            "real_estate_purchase", base(accounts={2023: accounts({}, real_estate="150000.00", flagged=(building,))})
        )
        assert found.amount == D("150000.00") and found.severity == Severity.HIGH

    def test_sci_shares(self) -> None:
        shares = f.FlaggedEntry(40, "261000", "Parts SCI Les Tilleuls", D("50000.00"), ("large_payment",))
        [found] = run("real_estate_purchase", base(accounts={2023: accounts({}, flagged=(shares,))}))
        assert found.amount == D("50000.00")

    def test_no_purchase(self) -> None:
        assert run("real_estate_purchase", base(accounts={2023: accounts({})})) == []


class TestHealthIndustry:
    def test_share_above_threshold_names_counterparties(self) -> None:
        facts = base(
            accounts={2023: accounts({"assurance_maladie": "90000.00", "pharma_industry": "10000.00"})},
            flows=[flow("pharma", "10000.00", funder="Laboratoire Exemple")],
        )
        [found] = run("health_industry_funding", facts)
        assert (
            found.amount == D("10000.00")
            and "Laboratoire Exemple" in found.explanation
            and "10.0 %" in found.explanation
        )

    def test_small_share_is_fine(self) -> None:
        facts = base(accounts={2023: accounts({"assurance_maladie": "190000.00", "pharma_industry": "2000.00"})})
        assert run("health_industry_funding", facts) == []


class TestRemuneration:
    def test_hourly_pay_above_the_cap(self) -> None:
        pay = f.Remuneration("Coordinatrice", D("20000.00"), D("100"), None)
        spending = f.Spending("doc-s", 2023, {}, D("20000.00"), (pay,), "ev")
        [found] = run("remuneration_above_frame", base(spending={2023: spending}))
        assert found.amount == D("5000.00")  # 200 €/h against 150 €/h for 100 hours

    def test_yearly_pay_per_person(self) -> None:
        pay = f.Remuneration("Direction", D("300000.00"), None, 2)
        [found] = run(
            "remuneration_above_frame", base(spending={2023: f.Spending("d", 2023, {}, D("1"), (pay,), "ev")})
        )
        assert found.amount == D("60000.00")

    def test_under_caps_or_without_hours(self) -> None:
        lines = (
            f.Remuneration("Coordination", D("12000.00"), D("400"), None),
            f.Remuneration("Loyer", D("9000.00"), None, None),
        )
        assert (
            run("remuneration_above_frame", base(spending={2023: f.Spending("d", 2023, {}, D("1"), lines, "ev")})) == []
        )


class TestEmptyShell:
    def test_funded_missions_without_measurement_few_members_no_dialogue(self) -> None:
        activity = f.Activity(2023, ("prevention",), D("1.0"), True, "ev-act")
        facts = base(
            flows=[flow("aci", "50000.00", mission="prevention")],
            activity={2023: activity},
            members={2023: f.Members(2023, 6, "ev-m")},
        )
        [found] = run("empty_shell", facts)
        assert found.severity == Severity.HIGH and found.amount == D("50000.00")
        assert "6 adhérents" in found.explanation

    def test_without_indicators_few_members_no_report_no_dialogue_is_medium(self) -> None:
        facts = base(flows=[flow("aci", "50000.00")], members={2022: f.Members(2022, 4, "ev-m")})
        [found] = run("empty_shell", facts)
        assert found.severity == Severity.MEDIUM

    def test_an_active_cpts_is_not_a_shell(self) -> None:
        report = f.DocumentNotice("received", 2023, "activity_report", "doc", "ar", True, "accepted", "ev")
        facts = base(
            flows=[flow("aci", "50000.00", mission="prevention")],
            activity={2023: f.Activity(2023, (), D("0.2"), False, "ev")},
            members={2023: f.Members(2023, 80, "ev-m")},
            documents=[report],
        )
        assert run("empty_shell", facts) == []

    def test_no_money_no_shell(self) -> None:
        assert run("empty_shell", base(members={2023: f.Members(2023, 2, "ev")})) == []


@pytest.mark.parametrize("key", ["pharma", "region"])
def test_finding_ids_are_deterministic(key: str) -> None:
    assert finding_id("undeclared_source", CPTS, 2023, key) == finding_id("undeclared_source", CPTS, 2023, key)
    assert finding_id("undeclared_source", CPTS, 2023, key) != finding_id("undeclared_source", CPTS, 2024, key)
