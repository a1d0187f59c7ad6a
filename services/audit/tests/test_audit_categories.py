"""The one funder mapping: every funding category and every documents revenue category is in
exactly one group. Read from each side's published list: funding's event schema, documents'
chart of accounts (class 7 rows), so a category added on either side fails here until mapped."""

from __future__ import annotations

import csv
import json

from audit_helpers import CONTRACTS, REPO

from cpts_audit.domain.categories import GROUPS, group_of_documents, group_of_funding

CHART = REPO / "services" / "documents" / "src" / "cpts_documents" / "domain" / "data" / "chart_anc_2018.csv"


def funding_categories() -> set[str]:
    schema = json.loads((CONTRACTS / "funding" / "fr.cpts.funding.payment.recorded.v1.json").read_text())
    return set(schema["$defs"]["FunderCategory"]["enum"])


def documents_revenue_categories() -> set[str]:
    with CHART.open(encoding="utf-8") as handle:
        return {row["category"] for row in csv.DictReader(handle) if row["prefix"].startswith("7")}


def test_every_funding_category_is_mapped_once() -> None:
    categories = funding_categories()
    assert len(categories) >= 12
    for category in categories:
        assert sum(category in g.funding for g in GROUPS) == 1, category
        assert group_of_funding(category) is not None
    assert set().union(*(g.funding for g in GROUPS)) == categories  # nothing mapped that funding lacks


def test_every_documents_revenue_category_is_mapped_once() -> None:
    categories = documents_revenue_categories()
    assert {"assurance_maladie", "subsidy_ars_fir", "pharma_industry"} <= categories
    for category in categories:
        assert sum(category in g.documents for g in GROUPS) == 1, category
        assert group_of_documents(category) is not None
    assert set().union(*(g.documents for g in GROUPS)) == categories


def test_the_names_that_differ_meet_in_one_group() -> None:
    assert group_of_documents("pharma_industry") == group_of_funding("pharma")
    assert group_of_documents("assurance_maladie") == group_of_funding("aci")
    assert group_of_documents("subsidy_municipal") == group_of_funding("local_intercommunality")
    assert (
        group_of_documents("subsidy_other_public") is not None
        and not group_of_documents("subsidy_other_public").funding
    )  # type: ignore[union-attr]
