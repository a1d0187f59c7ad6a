"""The audit's demo: the accounts the CPTS transmit, with a documented set of anomalies.

``cpts run`` loads the demos in port order, the audit's last: the registry's CPTS and the
funding service's flows and declarations exist. This loader then acts as the CPTS's
accounting software would, through the other services' public APIs only:

1. it reads, from the funding API, the flows of 2022 and 2023 and the latest declarations;
2. it plants the anomalies listed in the audit README (one CPTS each, chosen with a fixed
   seed among the 2023 ACI signatories): an ACI payment above the envelope's maximum in 2024
   (the dialogue's achievements recorded, then a payment posted to the funding API by the
   Assurance maladie; 2024, so that the Senate's 2022 and 2023 totals stay), undeclared
   laboratory money, a yoga class and a theatre evening, the purchase of premises, hoarded
   reserves (30 months of expenses), an activity report sent without its financial part, and
   two empty shells (a handful of members reported to the registry, no accounts, no activity
   report);
3. for 85 % of the CPTS paid each year (and every CPTS with a planted accounting anomaly) it
   pushes to the documents API a FEC that books the money the funding service says was paid
   (``demo_accounts``), a spending statement per mission and an activity report with its
   financial part, each with the CPTS's own token;
4. it waits until the audit has evaluated every CPTS, then checks that each planted anomaly was
   found and that every high-severity finding is explained: planted here, or present in the
   funding data it read (a declaration leaving out laboratory money the CPTS received, ACI paid
   above an envelope's maximum). The start line prints the findings by rule and that check.

Everything is seeded: the same platform gives the same files, the same anomalies, the same
findings. A second run changes nothing (same bytes, same idempotency keys).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from cpts_audit.demo_accounts import Anomalies, Received, build, spending_statement
from cpts_audit.settings import AuditSettings
from cpts_audit.storage.models import DirtyCpts, Fact, Finding
from cpts_kit.auth import issue_dev_token
from cpts_kit.db import Database
from cpts_kit.money import to_money
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

SEED = 2025
YEARS = (2022, 2023)
PLANT_YEAR = 2023
FEC_SHARE = 0.85
LABORATORY = ("Laboratoire Servier", Decimal("6000.00"))
LEISURE = (
    ("Séance de yoga pour les membres du bureau", Decimal("1200.00")),
    ("Soirée théâtre des adhérents", Decimal("2400.00")),
)
PREMISES = Decimal("180000.00")
HOARDED_MONTHS = Decimal(30)
OVER_MAXIMUM = Decimal("25000.00")
OVER_MAXIMUM_YEAR = 2024
SHELL_MEMBERS = {"infirmier": 3, "medecin_generaliste": 2}

# The anomalies, the rule that must find each, and whether the CPTS keeps its FEC.
PLANTS: tuple[tuple[str, str, bool], ...] = (
    ("aci_above_maximum", "aci_above_maximum", True),
    ("undeclared_laboratory", "undeclared_source", True),
    ("leisure_spending", "out_of_mission_spending", True),
    ("real_estate_purchase", "real_estate_purchase", True),
    ("hoarding", "hoarding", True),
    ("missing_financial_part", "missing_financial_transmission", False),
    ("empty_shell_1", "empty_shell", False),
    ("empty_shell_2", "empty_shell", False),
)


@dataclass
class Plan:
    paid: dict[int, list[str]] = field(default_factory=dict)  # year -> CPTS paid ACI, sorted
    flows: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    declarations: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)
    sirens: dict[str, str] = field(default_factory=dict)  # the FEC's file name starts with it
    planted: dict[str, str] = field(default_factory=dict)  # anomaly -> CPTS id
    expected_high: set[tuple[str, str, int]] = field(default_factory=set)  # (rule, cpts, year)
    reported: set[tuple[str, int]] = field(default_factory=set)  # (cpts, year) given an activity report
    inactive: set[tuple[str, int]] = field(default_factory=set)  # (cpts, year) indicators flag
    spares: list[str] = field(default_factory=list)

    def stable(self, cpts_id: str) -> str:
        """What orders and seeds a CPTS: its SIREN, the same in every run of the registry's
        demo, where its id is drawn at random (ordered by id, the CPTS drew other numbers in
        each run, and the demo pushed 979, 980 or 981 FECs, planted on other CPTS)."""
        return f"{self.sirens.get(cpts_id, '')}:{cpts_id}"


def _token(settings: ServiceSettings, role: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_dev_token(settings, role=role, subject=f"audit-demo-{role}", **claims)}


async def _pages(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = (await client.get(url, params={**params, "limit": 500, "offset": len(items)})).raise_for_status().json()
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items


async def _wait_for_funding(funding: httpx.AsyncClient, settings: AuditSettings) -> int:
    """Until the funding service holds 2023 flows and their count is stable (its demo done)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.demo_wait_seconds
    previous = -1
    while True:
        answer = await funding.get("/v1/flows", params={"fiscal_year": PLANT_YEAR, "limit": 1})
        total = int(answer.json()["total"]) if answer.status_code == 200 else 0
        if (total and total == previous) or loop.time() >= deadline:
            return total
        previous = total
        await asyncio.sleep(max(settings.demo_poll_seconds, 1.0))  # stable over a second: done


async def _read_funding(funding: httpx.AsyncClient, registry: httpx.AsyncClient) -> Plan:
    plan = Plan()
    plan.sirens = {cpts["id"]: cpts["siren"] for cpts in await _pages(registry, "/v1/cpts", {})}
    for year in YEARS:
        for flow in await _pages(funding, "/v1/flows", {"fiscal_year": year}):
            if flow["kind"] == "allocation":
                continue
            plan.flows[(flow["cpts_id"], year)].append(flow)
            plan.names[flow["cpts_id"]] = flow.get("cpts_name", "")
            plan.places[flow["cpts_id"]] = flow["departement"]
        for declaration in await _pages(funding, "/v1/declarations", {"fiscal_year": year, "latest": "true"}):
            plan.declarations[(declaration["cpts_id"], year)] = declaration
        plan.paid[year] = sorted(
            {
                c
                for (c, y), flows in plan.flows.items()
                if y == year and any(f["funder_category"] == "aci" for f in flows)
            },
            key=plan.stable,
        )
    return plan


def _received(flows: list[dict[str, Any]]) -> list[Received]:
    found = []
    for flow in flows:
        value = to_money(flow["amount"])
        found.append(
            Received(
                flow["funder_category"],
                flow["funder_name"],
                flow["mission"],
                -value if flow["kind"] == "recovery" else value,
                date.fromisoformat(flow["date"]),
            )
        )
    return found


def _own_fees(plan: Plan, cpts_id: str, year: int, rng: random.Random) -> Decimal:
    declaration = plan.declarations.get((cpts_id, year))
    if declaration is not None:
        return sum(
            (to_money(s["amount"]) for s in declaration["sources"] if s["category"] == "own_resources"), Decimal(0)
        )
    return Decimal(rng.randrange(1_000, 8_001, 50)).quantize(Decimal("0.01"))


def _upstream_expectations(plan: Plan, cpts_id: str, year: int) -> None:
    """High findings the funding data itself calls for once the accounts book what was paid:
    a declaration that leaves out industry money the CPTS received."""
    declaration = plan.declarations.get((cpts_id, year))
    for category in ("pharma", "private_company"):
        received = sum(
            (
                to_money(f["amount"]) * (-1 if f["kind"] == "recovery" else 1)
                for f in plan.flows[(cpts_id, year)]
                if f["funder_category"] == category
            ),
            Decimal(0),
        )
        declared = sum(
            (to_money(s["amount"]) for s in (declaration or {}).get("sources", []) if s["category"] == category),
            Decimal(0),
        )
        if received - declared > max(Decimal("500.00"), received * Decimal("0.02")):
            plan.expected_high.add(("undeclared_source", cpts_id, year))


async def _envelope_check(funding: httpx.AsyncClient, plan: Plan, cpts_id: str, year: int) -> dict[str, Any] | None:
    answer = await funding.get(f"/v1/cpts/{cpts_id}/envelopes/{year}")
    if answer.status_code != 200:
        return None
    envelope: dict[str, Any] = answer.json()
    # The audit's definition: every ACI payment of the fiscal year against the envelope (not the
    # lettre d'intention lump sum), recoveries deducted.
    paid = sum(
        (
            to_money(f["amount"]) * (-1 if f["kind"] == "recovery" else 1)
            for f in plan.flows[(cpts_id, year)]
            if f["funder_category"] == "aci" and f.get("aci_basis") != "intention_letter_lump_sum"
        ),
        Decimal(0),
    )
    if paid - to_money(envelope["totals"]["maximum"]) > Decimal("1.00"):
        plan.expected_high.add(("aci_above_maximum", cpts_id, year))
    return envelope


async def _plant_over_maximum(funding: httpx.AsyncClient, cpts_id: str) -> bool:
    """In 2024 (the Senate's 2022 and 2023 totals stay as they are): the dialogue records the
    year's achievements (funding publishes the envelope), then the Assurance maladie pays 25,000 €
    more than the envelope's maximum. False when funding refuses (the CPTS is not a signatory)."""
    year = OVER_MAXIMUM_YEAR
    rates = await funding.put(f"/v1/cpts/{cpts_id}/achievements/{year}", json={"rates": {"prevention": "0.8000"}})
    if rates.status_code != 200:
        return False
    envelope = (await funding.get(f"/v1/cpts/{cpts_id}/envelopes/{year}")).raise_for_status().json()
    aci = (
        (await funding.get("/v1/funders", params={"category": "aci", "limit": 1})).raise_for_status().json()["items"][0]
    )
    excess = to_money(envelope["totals"]["maximum"]) - to_money(envelope["totals"]["paid"]) + OVER_MAXIMUM
    body = {
        "kind": "payment",
        "cpts_id": cpts_id,
        "funder_id": aci["id"],
        "fiscal_year": year,
        "mission": "functioning",
        "part": "not_applicable",
        "amount": f"{excess:.2f}",
        "date": f"{year}-06-15",
        "funder_reference": f"ACI-{year}-{cpts_id[:8]}",
    }
    answer = await funding.post(
        "/v1/flows", json=body, headers={"Idempotency-Key": f"audit-demo-over-maximum-{cpts_id}"}
    )
    return answer.status_code in (200, 201)


async def _read_activity(db: Database, plan: Plan) -> None:
    """The CPTS-years the indicators flag (a funded mission never measured, or no dialogue de
    gestion), as the audit projected them: one of the empty shell's signals."""
    async with db.sessionmaker() as session:
        rows = await session.execute(select(Fact.cpts_id, Fact.year, Fact.data).where(Fact.kind == "activity"))
        for cpts_id, year, data in rows:
            if year is not None and (data.get("missions_funded_without_measurement") or data.get("dialogue_missing")):
                plan.inactive.add((cpts_id, year))


def _choose(plan: Plan, rng: random.Random) -> None:
    """One CPTS per anomaly among the 2023 signatories already paid in 2022; the empty shells
    among those the indicators flag in 2023 (the third signal, beside the few members and the
    missing activity report the demo plants), when there are."""
    pool = [c for c in plan.paid[PLANT_YEAR] if c in set(plan.paid.get(PLANT_YEAR - 1, []))]
    flagged = sorted((c for c in pool if (c, PLANT_YEAR) in plan.inactive), key=plan.stable)
    shells = rng.sample(flagged, 2) if len(flagged) >= 2 else []
    chosen = rng.sample([c for c in pool if c not in shells], len(PLANTS) - len(shells) + 5)  # spares: over-maximum
    plan.planted = {
        anomaly: shells.pop() if anomaly.startswith("empty_shell") and shells else chosen.pop(0)
        for anomaly, _, _ in PLANTS
    }
    plan.spares = chosen


async def _upload(
    documents: httpx.AsyncClient,
    settings: ServiceSettings,
    plan: Plan,
    cpts_id: str,
    year: int,
    kind: str,
    content: bytes,
    **fields: str,
) -> None:
    names = {
        "fec": f"{plan.sirens.get(cpts_id, '000000000')}FEC{year}1231.txt",  # the tax administration's name
        "spending_statement": f"depenses-{year}.csv",
        "activity_report": f"rapport-{year}.pdf",
    }
    # The documents service may not know the CPTS yet (its projection lags): retry a 404 until
    # a deadline, soon at first, then less often.
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + 120.0, 0.1
    while True:
        answer = await documents.post(
            f"/v1/cpts/{cpts_id}/documents",
            files={"file": (names[kind], content)},
            data={"type": kind, "fiscal_year": str(year), **fields},
            headers=_token(settings, "cpts", cpts=cpts_id),
        )
        if answer.status_code != 404 or loop.time() >= deadline:
            break
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)
    if answer.status_code not in (200, 201):
        raise RuntimeError(
            f"documents refused the {kind} {year} of {cpts_id}: {answer.status_code} {answer.text[:300]}"
        )


def _report(cpts_id: str, year: int, financial_part: bool) -> bytes:
    part = "avec sa partie financière" if financial_part else "sans partie financière"
    return f"%PDF-1.7\n% Rapport d'activité {year} de la CPTS {cpts_id} ({part})\n%%EOF\n".encode()


async def _wait_for_audit(db: Database, settings: AuditSettings, documents_expected: int) -> None:
    """Until the projection holds the pushed accounts and no CPTS has waited for evaluation for
    a few seconds (the last activity reports' events may still be on their way), or the
    deadline. Polls often: the load ends as soon as the audit is done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.demo_wait_seconds
    quiet_since: float | None = None
    while loop.time() < deadline:
        async with db.sessionmaker() as session:
            accounts = await session.scalar(select(func.count()).select_from(Fact).where(Fact.kind == "accounts")) or 0
            dirty = await session.scalar(select(func.count()).select_from(DirtyCpts)) or 0
        if accounts >= documents_expected and dirty == 0:
            quiet_since = loop.time() if quiet_since is None else quiet_since
            if loop.time() - quiet_since >= settings.demo_quiet_seconds:
                return
        else:
            quiet_since = None
        await asyncio.sleep(settings.demo_poll_seconds)


async def load_demo(settings: ServiceSettings, seed: int = SEED) -> str:
    audit = settings if isinstance(settings, AuditSettings) else AuditSettings()
    rng = random.Random(seed)
    db = Database(audit.database_url)
    timeout = httpx.Timeout(60.0)
    cnam = _token(audit, "cnam")
    loop = asyncio.get_running_loop()
    started = loop.time()
    timings: dict[str, float] = {}
    limits = httpx.Limits(max_connections=audit.demo_concurrency, max_keepalive_connections=audit.demo_concurrency)
    try:
        async with (
            httpx.AsyncClient(base_url=audit.demo_funding_url, headers=cnam, timeout=timeout, limits=limits) as funding,
            httpx.AsyncClient(base_url=audit.demo_documents_url, timeout=timeout, limits=limits) as documents,
            httpx.AsyncClient(base_url=audit.demo_registry_url, headers=cnam, timeout=timeout) as registry,
        ):
            await _wait_for_funding(funding, audit)
            plan = await _read_funding(funding, registry)
            if not plan.paid.get(PLANT_YEAR):
                return "no demo accounts: the funding service has no ACI payments for 2023"
            gate = asyncio.Semaphore(audit.demo_concurrency)

            async def bounded(job: Awaitable[T]) -> T:
                async with gate:
                    return await job

            timings["funding read"] = loop.time() - started
            # One GET per paid CPTS and year: concurrent, a few at a time (not one after another).
            await asyncio.gather(
                *(bounded(_envelope_check(funding, plan, c, y)) for y in YEARS for c in plan.paid.get(y, []))
            )
            timings["envelopes"] = loop.time() - started - timings["funding read"]
            await _read_activity(db, plan)
            _choose(plan, rng)
            for candidate in [plan.planted["aci_above_maximum"], *plan.spares]:
                if await _plant_over_maximum(funding, candidate):
                    plan.planted["aci_above_maximum"] = candidate
                    break
            without_fec = {plan.planted[a] for a, _, keeps in PLANTS if not keeps}
            with_fec = {plan.planted[a] for a, _, keeps in PLANTS if keeps}
            jobs: list[tuple[str, int, Anomalies]] = []
            for year in YEARS:
                for cpts_id in plan.paid.get(year, []):
                    keep = rng.random() < FEC_SHARE
                    if year == PLANT_YEAR and cpts_id in without_fec:
                        continue
                    if not keep and not (year == PLANT_YEAR and cpts_id in with_fec):
                        continue
                    anomalies = Anomalies()
                    if year == PLANT_YEAR:
                        anomalies = _anomalies_of(plan, cpts_id)
                    jobs.append((cpts_id, year, anomalies))
                    plan.reported.add((cpts_id, year))
            lines: dict[str, list[int]] = {}
            pushing = loop.time()

            async def push(cpts_id: str, year: int, anomalies: Anomalies) -> None:
                received = _received(plan.flows[(cpts_id, year)])
                transmission = build(
                    year,
                    received,
                    _own_fees(plan, cpts_id, year, rng_for(plan.stable(cpts_id), year)),
                    anomalies,
                    plan.places.get(cpts_id, ""),
                )
                paid_by_mission: dict[str, Decimal] = defaultdict(Decimal)
                for item in received:
                    if item.category == "aci":
                        paid_by_mission[item.mission] += item.amount
                _upstream_expectations(plan, cpts_id, year)
                async with gate:
                    await _upload(documents, audit, plan, cpts_id, year, "fec", transmission.fec)
                    await _upload(
                        documents,
                        audit,
                        plan,
                        cpts_id,
                        year,
                        "spending_statement",
                        spending_statement(year, transmission.spent, paid_by_mission),
                    )
                    await _upload(
                        documents,
                        audit,
                        plan,
                        cpts_id,
                        year,
                        "activity_report",
                        _report(cpts_id, year, True),
                        financial_part="true",
                    )
                for anomaly, numbers in transmission.planted_lines.items():
                    lines[anomaly] = numbers

            await asyncio.gather(*(push(*job) for job in jobs))
            cut_off = plan.planted["missing_financial_part"]
            await _upload(
                documents,
                audit,
                plan,
                cut_off,
                PLANT_YEAR,
                "activity_report",
                _report(cut_off, PLANT_YEAR, False),
                financial_part="false",
            )
            for anomaly in ("empty_shell_1", "empty_shell_2"):
                shell = plan.planted[anomaly]
                answer = await registry.put(f"/v1/cpts/{shell}/members/{PLANT_YEAR}", json={"counts": SHELL_MEMBERS})
                answer.raise_for_status()
            timings["push"] = loop.time() - pushing
            waiting = loop.time()
            await _wait_for_audit(db, audit, len(jobs))
            timings["audit"] = loop.time() - waiting
            log.info("audit demo timings: %s", ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
            return await _summary(db, audit, plan, len(jobs), lines, timings)
    finally:
        await db.dispose()


def _year_of(anomaly: str) -> int:
    return OVER_MAXIMUM_YEAR if anomaly == "aci_above_maximum" else PLANT_YEAR


def rng_for(cpts_key: str, year: int) -> random.Random:
    """A generator per CPTS-year (``Plan.stable``): the files do not depend on the order of the
    uploads, nor on the CPTS ids the registry drew."""
    return random.Random(f"{SEED}-{cpts_key}-{year}")


def _anomalies_of(plan: Plan, cpts_id: str) -> Anomalies:
    anomalies = Anomalies()
    if cpts_id == plan.planted["undeclared_laboratory"]:
        anomalies.laboratory = LABORATORY
    if cpts_id == plan.planted["leisure_spending"]:
        anomalies.leisure = LEISURE
    if cpts_id == plan.planted["real_estate_purchase"]:
        anomalies.real_estate = PREMISES
    if cpts_id == plan.planted["hoarding"]:
        anomalies.reserve_months = HOARDED_MONTHS
    return anomalies


async def _summary(
    db: Database,
    settings: AuditSettings,
    plan: Plan,
    pushed: int,
    lines: dict[str, list[int]],
    timings: dict[str, float],
) -> str:
    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Finding.rule, Finding.cpts_id, Finding.fiscal_year, Finding.severity, Finding.status).where(
                    Finding.status != "closed"  # what the facts still support
                )
            )
        ).all()
    by_rule = Counter(rule for rule, *_ in rows)
    found = {(rule, cpts, year) for rule, cpts, year, _, _ in rows}
    expected = {(rule, plan.planted[anomaly], _year_of(anomaly)) for anomaly, rule, _ in PLANTS}
    missed = sorted(
        f"{rule} ({plan.names.get(cpts, cpts)})" for rule, cpts, year in expected if (rule, cpts, year) not in found
    )
    await _read_activity(db, plan)  # as it stands now that the audit is done

    def explained(rule: str, cpts: str, year: int) -> bool:
        if (rule, cpts, year) in expected or (rule, cpts, year) in plan.expected_high:
            return True
        # An empty shell the demo did not plant rests on what others hold: the indicators'
        # activity, or a year it transmitted no activity report for (15 %, and every year
        # but 2022 and 2023).
        return rule == "empty_shell" and ((cpts, year) in plan.inactive or (cpts, year) not in plan.reported)

    unexplained = [
        (rule, cpts, year)
        for rule, cpts, year, severity, _ in rows
        if severity == "high" and not explained(rule, cpts, year)
    ]
    stray = sorted({rule for rule, _, _ in unexplained})
    stray_count = len(unexplained)
    if unexplained:
        log.warning("audit demo: unexplained high findings: %s", sorted(unexplained))
    manifest = {
        anomaly: {
            "rule": rule,
            "cpts_id": plan.planted[anomaly],
            "cpts_name": plan.names.get(plan.planted[anomaly], ""),
            "fiscal_year": _year_of(anomaly),
            "fec_lines": lines.get(anomaly, []),
        }
        for anomaly, rule, _ in PLANTS
    }
    path = settings.state_dir / "audit-demo-anomalies.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    rules = ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items()))
    verdict = f"planted anomalies found {len(expected) - len(missed)}/{len(expected)}" + (
        f" (missed: {'; '.join(missed)})" if missed else ""
    )
    upstream_by_rule = Counter(rule for rule, *_ in plan.expected_high)
    upstream = f"{len(plan.expected_high)}" + (
        " (" + ", ".join(f"{rule} {n}" for rule, n in sorted(upstream_by_rule.items())) + ")"
        if upstream_by_rule
        else ""
    )
    unexplained_text = f"{stray_count}" + (f" ({', '.join(stray)})" if stray else "")
    years = ", ".join(map(str, YEARS))
    return (
        f"demo data loaded: {pushed} FECs, spending statements and activity reports pushed for {years}; "
        f"findings by rule: {rules or 'none'}; {verdict}; high findings from the funding data: {upstream}; "
        f"unexplained high findings: {unexplained_text}; anomalies listed in {path}; "
        f"took {sum(timings.values()):.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in timings.items())})"
    )
