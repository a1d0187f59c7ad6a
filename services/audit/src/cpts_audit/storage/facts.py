"""Builds the domain's :class:`CptsFacts` from the projected facts of one CPTS."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_audit.domain import facts as f
from cpts_audit.storage.models import Fact
from cpts_kit.money import to_money


def _money(value: Any) -> Decimal:
    if value is None or value == "":
        return f.ZERO
    return to_money(value)


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def flow_of(row: Fact) -> f.Flow:
    d = row.data
    return f.Flow(
        flow_id=str(d["flow_id"]),
        kind=str(d.get("kind", "payment")),
        category=str(d.get("funder_category", "")),
        funder_name=str(d.get("funder_name", "")),
        fiscal_year=int(d["fiscal_year"]),
        mission=str(d.get("mission", "")),
        amount=_money(d.get("amount")),
        on=_date(d.get("date")) or date(int(d["fiscal_year"]), 1, 1),
        event_id=row.event_id,
        aci_basis=d.get("aci_basis"),
    )


def _declaration(row: Fact) -> f.Declaration:
    d = row.data
    sources = tuple(
        f.DeclaredSource(str(s.get("category", "")), s.get("funder_name"), _money(s.get("amount")))
        for s in d.get("sources", [])
    )
    return f.Declaration(
        str(d.get("declaration_id", "")), int(d["fiscal_year"]), int(d.get("version", 1)), sources, row.event_id
    )


def _accounts(row: Fact) -> f.Accounts:
    d = row.data
    s = d.get("summary", {})
    reserves = s.get("reserves", {})
    flagged = tuple(
        f.FlaggedEntry(
            int(e.get("line", 0)),
            str(e.get("account", "")),
            str(e.get("label", "")),
            _money(e.get("amount")),
            tuple(e.get("reasons") or [e.get("reason", "")]),
        )
        for e in s.get("flagged_entries", [])
    )
    return f.Accounts(
        document_id=str(d.get("document_id", "")),
        fiscal_year=int(d["fiscal_year"]),
        revenue_total=_money(s.get("revenue_total")),
        expense_total=_money(s.get("expense_total")),
        revenue_by_category={k: _money(v) for k, v in s.get("revenue_by_category", {}).items()},
        available_reserves=_money(reserves.get("available_reserves")),
        cash=_money(reserves.get("cash")),
        real_estate=_money(s.get("fixed_asset_purchases", {}).get("real_estate")),
        flagged=flagged,
        flags_by_reason={str(k): int(v) for k, v in s.get("flags_by_reason", {}).items()},
        event_id=row.event_id,
    )


def spending_of(row: Fact) -> f.Spending:
    d = row.data
    s = d.get("spending", {})
    remunerations = tuple(
        f.Remuneration(
            str(r.get("label", "")),
            _money(r.get("amount")),
            Decimal(str(r["hours"])) if r.get("hours") not in (None, "") else None,
            int(r["persons"]) if r.get("persons") not in (None, "") else None,
        )
        for r in s.get("remunerations", d.get("remunerations", []))
    )
    return f.Spending(
        str(d.get("document_id", "")),
        int(d["fiscal_year"]),
        {k: _money(v) for k, v in s.get("by_mission", {}).items()},
        _money(s.get("total")),
        remunerations,
        row.event_id,
    )


def envelope_of(row: Fact) -> f.Envelope:
    d = row.data
    by_mission: dict[str, Decimal] = {"functioning": _money(d.get("functioning"))}
    for line in d.get("lines", []):
        amount = _money(line.get("fixed")) + _money(line.get("snp_compensation")) + _money(line.get("variable_max"))
        by_mission[str(line.get("mission"))] = by_mission.get(str(line.get("mission")), f.ZERO) + amount
    return f.Envelope(int(d["year"]), _money(d.get("maximum")), _money(d.get("theoretical")), by_mission, row.event_id)


def _notice(row: Fact) -> f.DocumentNotice:
    d = row.data
    year = int(d.get("fiscal_year", 0))
    if row.kind == "overdue":
        types = [str(t) for t in d.get("accepted_types", [])]
        return f.DocumentNotice(
            "overdue",
            year,
            types[0] if types else None,
            str(d.get("requirement", "")),
            str(d.get("label", "")),
            None,
            None,
            row.event_id,
        )
    kind = "rejected" if row.kind == "rejected" else "received"
    return f.DocumentNotice(
        kind,
        year,
        d.get("type"),
        str(d.get("document_id", "")),
        f"{d.get('type', '')} v{d.get('version', 1)}",
        d.get("financial_part"),
        d.get("verdict") if kind == "received" else "rejected",
        row.event_id,
    )


def build(rows: list[Fact]) -> f.CptsFacts | None:
    """The facts of one CPTS; None until the registry told the audit about it."""
    cpts_row = next((r for r in rows if r.kind == "cpts"), None)
    if cpts_row is None:
        return None
    d = cpts_row.data
    facts = f.CptsFacts(
        f.CptsInfo(
            cpts_id=cpts_row.cpts_id,
            region=cpts_row.region,
            departement=cpts_row.departement,
            name=str(d.get("name", "")),
            status=d.get("to_status") or d.get("status"),
            aci_signed_on=_date(d.get("aci_signed_on")),
        )
    )
    for row in rows:
        match row.kind:
            case "flow":
                facts.flows.append(flow_of(row))
            case "declaration":
                facts.declarations[int(row.data["fiscal_year"])] = _declaration(row)
            case "accounts":
                facts.accounts[int(row.data["fiscal_year"])] = _accounts(row)
            case "spending":
                facts.spending[int(row.data["fiscal_year"])] = spending_of(row)
            case "envelope":
                facts.envelopes[int(row.data["year"])] = envelope_of(row)
            case "over_maximum":
                d = row.data
                facts.over_maximum[int(d["year"])] = f.OverMaximum(
                    int(d["year"]), _money(d.get("maximum")), _money(d.get("paid")), _money(d.get("excess")),
                    tuple(str(i) for i in d.get("flow_ids", [])), row.event_id,
                )  # fmt: skip
            case "document" | "rejected" | "overdue":
                facts.documents.append(_notice(row))
            case "activity":
                d = row.data
                share = d.get("declarative_share")
                facts.activity[int(d["year"])] = f.Activity(
                    int(d["year"]),
                    tuple(str(m) for m in d.get("missions_funded_without_measurement", [])),
                    Decimal(str(share)) if share not in (None, "") else None,
                    bool(d.get("dialogue_missing", False)),
                    row.event_id,
                )
            case "members":
                facts.members[int(row.data["year"])] = f.Members(
                    int(row.data["year"]), int(row.data.get("total", 0)), row.event_id
                )
            case "dialogue":
                if row.year is not None:
                    facts.dialogue_years.add(row.year)
    facts.flows.sort(key=lambda x: (x.on, x.flow_id))
    facts.documents.sort(key=lambda x: (x.fiscal_year, x.kind, x.reference))
    return facts


async def load(session: AsyncSession, cpts_id: str) -> f.CptsFacts | None:
    rows = list((await session.scalars(select(Fact).where(Fact.cpts_id == cpts_id))).all())
    return build(rows)
