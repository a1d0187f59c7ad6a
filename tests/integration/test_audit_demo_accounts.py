"""The audit demo's accounts read by the documents service's own validator and summariser:
the generated FECs are accepted, each funding category lands in the documents category that
the audit's funder table pairs with it, the reserves stay modest unless hoarding is planted,
and the planted lines are the ones the documents service flags."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from cpts_audit.demo_accounts import BOOKING, Anomalies, Received, build, spending_statement
from cpts_audit.domain.categories import group_of_documents, group_of_funding
from cpts_documents.domain.fec import FecValidator, Period
from cpts_documents.domain.flags import FlagContext
from cpts_documents.domain.spending import validate_spending
from cpts_documents.domain.summary import AccountsSummariser
from cpts_documents.domain.types import Verdict


def summarise(content: bytes) -> tuple[Verdict, dict[str, Any]]:
    summariser = AccountsSummariser(FlagContext(), max_flags=100)
    validator = FecValidator(Period(date(2023, 1, 1), date(2023, 12, 31)), sink=summariser, max_listed=50)
    report = validator.run(io.BytesIO(content))
    return report.verdict, summariser.result()


def test_every_funding_category_is_booked_where_the_audit_expects_it() -> None:
    for category in BOOKING:
        received = [Received(category, "Financeur Exemple", "prevention", Decimal("4000.00"), date(2023, 6, 1))]
        verdict, summary = summarise(build(2023, received, Decimal(0), Anomalies(), "Corse-du-Sud").fec)
        assert verdict is Verdict.ACCEPTED, category
        [booked] = [k for k, v in summary["revenue_by_category"].items() if v == Decimal("4000.00")]
        assert group_of_documents(booked) == group_of_funding(category), (category, booked)


def test_a_plain_year_has_nothing_to_find_and_a_planted_one_is_flagged_on_its_lines() -> None:
    received = [
        Received("aci", "CPAM", "prevention", Decimal("120000.00"), date(2023, 3, 1)),
        Received("aci", "CPAM", "prevention", Decimal("20000.00"), date(2024, 3, 1)),  # a receivable at year end
        Received("fir", "ARS", "functioning", Decimal("30000.00"), date(2023, 4, 1)),
        Received("fir", "ARS", "functioning", Decimal("-5000.00"), date(2023, 11, 1)),
    ]
    verdict, plain = summarise(build(2023, received, Decimal("3200.00"), Anomalies(), "Corse-du-Sud").fec)
    assert verdict is Verdict.ACCEPTED and plain["flagged_entries"] == []
    assert plain["revenue_by_category"]["assurance_maladie"] == Decimal("140000.00")
    assert plain["revenue_by_category"]["subsidy_ars_fir"] == Decimal("25000.00")
    assert Decimal(plain["reserves"]["months_of_expenses_in_reserves"]) < 12
    planted = build(
        2023,
        received,
        Decimal("3200.00"),
        Anomalies(
            laboratory=("Laboratoire Servier", Decimal("6000.00")),
            leisure=(("Séance de yoga", Decimal("800.00")),),
            real_estate=Decimal("180000.00"),
            reserve_months=Decimal(30),
        ),
        "Corse-du-Sud",
    )
    verdict, summary = summarise(planted.fec)
    assert verdict is Verdict.ACCEPTED
    flagged = {e["line"]: e["reasons"] for e in summary["flagged_entries"]}
    assert "health_industry" in flagged[planted.planted_lines["undeclared_laboratory"][0]]
    assert "leisure_or_culture" in flagged[planted.planted_lines["leisure_spending"][0]]
    assert "real_estate" in flagged[planted.planted_lines["real_estate_purchase"][0]]
    assert Decimal(summary["reserves"]["months_of_expenses_in_reserves"]) > 24
    assert summary["fixed_asset_purchases"]["real_estate"] == Decimal("180000.00")


def test_the_spending_statement_is_accepted_and_spends_little_on_crisis() -> None:
    content = spending_statement(
        2023, Decimal("100000.00"), {"prevention": Decimal("60000"), "crisis_response": Decimal("40000")}
    )
    result = validate_spending(io.BytesIO(content))
    assert result.report.verdict is Verdict.ACCEPTED
    spent = result.as_dict()["by_mission"]
    assert spent["crisis_response"] == Decimal("4000.00") and spent["prevention"] == Decimal("96000.00")


def test_the_spending_statement_s_staff_lines_carry_hours_within_the_frame() -> None:
    content = spending_statement(
        2023, Decimal("90000.00"), {"prevention": Decimal("60000"), "access_to_care": Decimal("30000")}
    )
    result = validate_spending(io.BytesIO(content))
    assert result.report.verdict is Verdict.ACCEPTED
    [pay] = result.as_dict()["remunerations"]  # the staff of access to care; prevention is events
    assert pay["amount"] == Decimal("30000.00") and pay["hours"] == Decimal("666.00")
    assert Decimal(40) < pay["amount"] / pay["hours"] < Decimal(150)  # the audit's illustrative hourly cap
