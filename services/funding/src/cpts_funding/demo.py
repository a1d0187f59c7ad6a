"""Deterministic demo funding, generated from the registry projection.

``cpts run`` starts every service, then loads the demo data in port order: the registry's
demo (700 ACI signatories with their signature dates) is published as events, and this loader
first waits until the funding service's projection holds it (count stable, at least 700
``aci_signed``), then generates, seeded, from the projection. It does nothing when flows exist.

ACI money follows the service's own rules, with no scaling factor (README, "Demo data"):

- each signatory's contract: missions staggered within their deadlines, optional missions by a
  documented share; the lettre d'intention lump sum (avenant 2) before the contract;
- envelopes 2019-2025 computed by the service (illustrative parameters, avenant 2 from its JO
  date), the variable part from seeded achievement rates (recorded, so the API shows the same
  envelopes); allocations notify each mission's maximum;
- payments by the ACI schedule (functioning in full at the signature, 75 % advances and
  balances at the anniversaries, each mission from its start, the variable part after the
  assessment) up to ``PAID_UNTIL``: no CPTS-year is paid above its maximum, fixed parts whole;
- the start line prints the ACI money paid by calendar year as the steering analytics compute it
  (``basis=payment_date``), against the Senate's and the Cnam's figures.

Around it, illustrative money: FIR start-up grants after the intention letter (40-50 k€ by
size) and a few FIR mission grants (which the ACI/FIR overlap report shows), collectivités,
the State, European funds, a few private, pharmaceutical and foundation flows, three FIR
recoveries, three ACI corrections (a payment on the wrong mission, its reversal, the right
one), and 2023 declarations of funding sources for 60 % of the CPTS paid (a few leave out the
pharmaceutical money they received, for the audit to find).
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding import steering
from cpts_funding.aggregates import Scope, Where
from cpts_funding.domain.amounts import ZERO, scaled
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.contract import AVENANT_2, contract_problems, start_deadline
from cpts_funding.domain.eligibility import ACI_SIGNED, StatusPeriod, aci_days, contract_anniversary, status_at
from cpts_funding.domain.flows import FlowKind, date_problem, part_problem
from cpts_funding.domain.missions import Part
from cpts_funding.domain.parameters import in_force_on
from cpts_funding.domain.schedule import payment_schedule
from cpts_funding.domain.signatories import PRE_CONTRACT, AciBasis, aci_flow_refusal
from cpts_funding.events import build
from cpts_funding.refdata import builtin_parameters, territories
from cpts_funding.settings import FundingSettings
from cpts_funding.storage.inputs import load_inputs
from cpts_funding.storage.models import (
    Achievement,
    ContractMission,
    Declaration,
    DeclaredSource,
    Flow,
    Funder,
    RegistryCpts,
    RegistryStatus,
    new_id,
)
from cpts_kit.auth import Principal, Role
from cpts_kit.db import Database, utcnow
from cpts_kit.events import CloudEvent
from cpts_kit.identifiers import with_luhn_key
from cpts_kit.missions import Mission
from cpts_kit.outbox import OutboxEvent, enqueue
from cpts_kit.settings import ServiceSettings

SEED = 2025
BULK_ROWS = 2_000  # rows per multi-row INSERT
LOADER = "demo-loader"
CNAM_SIREN = "180035024"

# Senate report r25-032 and the Cnam: ACI money paid in a calendar year. The demo does NOT aim
# at them by a factor: they are what the calibrated assumptions below give, printed at start
# (computed through the steering analytics, basis=payment_date) next to these references.
ACI_REFERENCES: dict[int, Decimal] = {
    2022: Decimal("105800000.00"),
    2023: Decimal("121000000.00"),
    2024: Decimal("170000000.00"),
}
ACI_YEARS = tuple(range(2019, 2026))  # fiscal years with ACI envelopes (the ACI is in force from August 2019)
DEMO_YEARS = (2022, 2023, 2024)  # the other funders' money around it
# Payments are recorded up to this date (a demo of the years 2019-2025).
PAID_UNTIL = date(2025, 12, 31)

# The free assumptions, calibrated (README, "Demo data"): how soon after the signature each
# mission starts (a uniform draw within the share of its deadline), the share of CPTS taking
# each optional mission (and when), and the indicator achievement of the variable part.
START_SHARE_OF_DEADLINE = 0.1  # compulsory missions start within the first tenth of their deadline
OPTIONAL_SHARE = 0.9  # 90 % of the CPTS take each optional mission...
OPTIONAL_START_DAYS = (0, 90)  # ...within three months of the signature
# Indicator achievement, uniformly by steps of 5 %: a CPTS's first contract year is mostly
# set-up (the Senate found the evidence for indicators often weak), so 0 % to 40 % then, and
# 50 % to 90 % in the following years.
ACHIEVEMENT_STEPS = (50, 91, 5)
FIRST_YEAR_ACHIEVEMENT_STEPS = (0, 41, 5)
LUMP_SUM_DELAY_DAYS = 45  # the lettre d'intention lump sum, paid 45 days after the letter

# FIR start-up grant after the intention letter, by size tier (one region's practice, §5).
FIR_STARTUP = {
    "T1": Decimal("40000.00"),
    "T2": Decimal("45000.00"),
    "T3": Decimal("50000.00"),
    "T4": Decimal("50000.00"),
}


@dataclass(frozen=True)
class ProjectionCounts:
    cpts: int
    history: int
    signatories: int


async def projection_counts(db: Database) -> ProjectionCounts:
    async with db.sessionmaker() as session:
        cpts = await session.scalar(select(func.count()).select_from(RegistryCpts))
        history = await session.scalar(select(func.count()).select_from(RegistryStatus))
        signed = await session.scalar(
            select(func.count()).select_from(RegistryCpts).where(RegistryCpts.status == ACI_SIGNED)
        )
    return ProjectionCounts(int(cpts or 0), int(history or 0), int(signed or 0))


async def wait_for_projection(db: Database, settings: FundingSettings) -> ProjectionCounts:
    """Poll until the projection is stable (same counts twice) with enough signatories."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.demo_wait_seconds
    previous = await projection_counts(db)
    while True:
        await asyncio.sleep(settings.demo_poll_seconds)
        current = await projection_counts(db)
        if current == previous and current.signatories >= settings.demo_min_signatories:
            return current
        if loop.time() >= deadline:
            return current
        previous = current


async def load_demo(settings: ServiceSettings, seed: int = SEED) -> str:
    """Load the demo funding into an empty database; a loaded database is left as it is."""
    funding_settings = settings if isinstance(settings, FundingSettings) else FundingSettings()
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            existing = int(await session.scalar(select(func.count()).select_from(Flow)) or 0)
        if existing:
            return f"demo data already there ({existing} flows)"
        counts = await wait_for_projection(db, funding_settings)
        if counts.signatories < funding_settings.demo_min_signatories:
            return (
                f"no demo funding: after {funding_settings.demo_wait_seconds:.0f}s the registry projection holds "
                f"{counts.cpts} CPTS and {counts.signatories} ACI signatories (at least "
                f"{funding_settings.demo_min_signatories} expected); run `cpts demo funding` once they have arrived"
            )
        async with db.sessionmaker() as session:
            summary = await Generator(session, settings, random.Random(seed)).run()
            await session.commit()
        return summary
    finally:
        await db.dispose()


async def aci_paid_in_calendar_year(session: AsyncSession, year: int) -> tuple[Decimal, int]:
    """ACI money paid in a calendar year, nationally, and the CPTS it went to, computed by the
    steering analytics (basis=payment_date): what the start line prints."""
    nation = Where(Scope(level="nation", code=None, name="France"), true())
    result = await steering.steering(
        session,
        Principal(subject=LOADER, role=Role.CNAM),
        nation,
        year,
        [steering.Dimension.FUNDER_CATEGORY, steering.Dimension.CPTS],
        steering.Basis.PAYMENT_DATE,
    )
    paid = [r for r in result.rows if r.key["funder_category"] == FunderCategory.ACI.value and r.paid > 0]
    return sum((r.paid for r in paid), ZERO), len(paid)


@dataclass
class Generator:
    session: AsyncSession
    settings: ServiceSettings
    rng: random.Random
    cpts: list[RegistryCpts] = field(default_factory=list)
    histories: dict[str, list[StatusPeriod]] = field(default_factory=dict)
    funders: dict[str, Funder] = field(default_factory=dict)
    flows: int = 0
    aci_paid: dict[tuple[str, int], Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    other_paid: dict[tuple[str, int], list[tuple[Funder, Decimal]]] = field(default_factory=lambda: defaultdict(list))
    contracts: dict[str, dict[Mission, date]] = field(default_factory=dict)
    aci_payments: list[Flow] = field(default_factory=list)
    pending: list[Flow] = field(default_factory=list)  # flows generated, not inserted yet
    declarations: int = 0

    async def run(self) -> str:
        rows = await self.session.scalars(select(RegistryCpts))
        self.cpts = sorted(rows, key=lambda c: (c.siren or "", c.cpts_id))
        for status in await self.session.scalars(select(RegistryStatus).order_by(RegistryStatus.seq)):
            self.histories.setdefault(status.cpts_id, []).append(StatusPeriod(status.status, status.effective_date))
        self._funders()
        await self._contracts()
        await self._lump_sums()
        for year in ACI_YEARS:
            await self._aci_year(year)
        self._fir_startup()
        self._fir_missions()
        self._local_authorities()
        self._others()
        await self._publish_flows()
        await self._corrections()
        await self._declarations()
        await self.session.flush()
        parts = []
        for year, reference in ACI_REFERENCES.items():
            paid, count = await aci_paid_in_calendar_year(self.session, year)
            gap = (paid - reference) / reference * 100
            parts.append(
                f"{year}: {paid:,.2f} € ACI paid to {count} CPTS ({gap:+.1f} % vs {reference / 1_000_000:.1f} M€)"
            )
        return (
            f"demo data loaded: {self.flows} flows, {self.declarations} declarations; ACI paid by calendar year "
            "(steering analytics, basis=payment_date): " + "; ".join(parts)
        )

    # --- helpers -----------------------------------------------------------------------

    def _funder(self, key: str, name: str, category: FunderCategory, siren: str | None = None) -> Funder:
        if key not in self.funders:
            funder = Funder(id=new_id(), name=name, category=category.value, siren=siren, created_by=LOADER)
            self.session.add(funder)
            self.funders[key] = funder
        return self.funders[key]

    def _siren(self) -> str:
        return with_luhn_key("9" + "".join(self.rng.choice("0123456789") for _ in range(7)))

    def _flow(
        self,
        kind: FlowKind,
        cpts: RegistryCpts,
        funder: Funder,
        year: int,
        mission: Mission,
        part: Part,
        amount: Decimal,
        on: date,
        reference: str,
        reverses: Flow | None = None,
        note: str | None = None,
        basis: AciBasis | None = None,
    ) -> Flow:
        category = FunderCategory(funder.category)
        problem = part_problem(mission, part, category, kind) or (None if reverses else date_problem(year, on))
        if problem:
            raise AssertionError(f"demo flow breaks a rule: {problem}")
        if category is FunderCategory.ACI and reverses is None:
            history = self.histories.get(cpts.cpts_id, [])
            lump_sum = None
            if basis is AciBasis.INTENTION_LETTER_LUMP_SUM:
                parameters = in_force_on(builtin_parameters(), on)
                lump_sum = parameters.tier_for(cpts.population).intention_letter_lump_sum if parameters else None
            refusal = aci_flow_refusal(
                kind=kind,
                mission=mission,
                amount=amount,
                fiscal_year=year,
                on=on,
                basis=basis,
                history=history,
                lump_sum=lump_sum,
                signed_on=cpts.aci_signed_on,
            )
            assert refusal is None, (cpts.cpts_id, on, refusal)
        flow = Flow(
            id=new_id(),
            kind=kind.value,
            cpts_id=cpts.cpts_id,
            funder_category=category.value,
            fiscal_year=year,
            mission=mission.value,
            part=part.value,
            amount=amount,
            flow_date=on,
            funder_reference=reference,
            reverses=reverses.id if reverses else None,
            aci_basis=basis.value if basis else None,
            note=note,
            recorded_by=LOADER,
            recorded_at=utcnow(),
        )
        flow.funder = funder  # read by the event builder; the row itself goes in by bulk insert
        flow.funder_id = funder.id
        self.pending.append(flow)
        self.flows += 1
        if kind is FlowKind.PAYMENT:
            if category is FunderCategory.ACI:
                self.aci_paid[(cpts.cpts_id, year)] += amount
            else:
                self.other_paid[(cpts.cpts_id, year)].append((funder, amount))
        return flow

    async def _publish_flows(self) -> None:
        """Insert the pending flows and their events (one each, in the same order) in bulk:
        tens of thousands of rows, in a few multi-row statements instead of one round trip per
        row (the ORM unit of work inserts row by row when it must read back each key)."""
        pending, self.pending = self.pending, []
        await self.session.flush()  # funders and anything else added before
        by_id = {c.cpts_id: c for c in self.cpts}
        columns = [c.key for c in Flow.__table__.columns if c.key != "seq"]
        events = []
        for flow in pending:
            event = CloudEvent.of(self.settings.event_source, flow.cpts_id, build.flow_event(flow, by_id[flow.cpts_id]))
            events.append(
                {
                    "event_id": event.id,
                    "topic": self.settings.topic,
                    "key": flow.cpts_id,
                    "type": event.type,
                    "body": event.model_dump_json(),
                    "created_at": event.time,
                }
            )
        for start in range(0, len(pending), BULK_ROWS):
            chunk = pending[start : start + BULK_ROWS]
            await self.session.execute(
                insert(cast(Table, Flow.__table__)), [{k: getattr(f, k) for k in columns} for f in chunk]
            )
            await self.session.execute(insert(cast(Table, OutboxEvent.__table__)), events[start : start + BULK_ROWS])

    def _signed_on(self, cpts: RegistryCpts, on: date) -> date:
        """``on`` if the CPTS was aci_signed then, else the signature date (demo dates)."""
        history = self.histories.get(cpts.cpts_id, [])
        return on if status_at(history, on) == ACI_SIGNED else (cpts.aci_signed_on or on)

    # --- funders -----------------------------------------------------------------------

    def _funders(self) -> None:
        ref = territories()
        self._funder("aci", "Caisse nationale de l'Assurance maladie", FunderCategory.ACI, CNAM_SIREN)
        for region in sorted({c.region for c in self.cpts}):
            name = ref.regions.get(region, region)
            self._funder(f"fir-{region}", f"ARS {name}", FunderCategory.FIR)
        for index in range(1, 11):
            self._funder(
                f"private-{index}",
                f"Entreprise fictive n°{index} (démo)",
                FunderCategory.PRIVATE_COMPANY,
                self._siren(),
            )
        for index in range(1, 7):
            self._funder(
                f"pharma-{index}", f"Laboratoire fictif n°{index} (démo)", FunderCategory.PHARMA, self._siren()
            )
        for index in range(1, 4):
            self._funder(f"foundation-{index}", f"Fondation fictive n°{index} (démo)", FunderCategory.FOUNDATION)
        self._funder("state", "État, crédits déconcentrés (démo)", FunderCategory.STATE)
        self._funder("eu", "Fonds européens, FEDER régional (démo)", FunderCategory.EUROPEAN_FUNDS)

    # --- ACI ---------------------------------------------------------------------------

    async def _contracts(self) -> None:
        """Each signatory's contract: compulsory missions staggered within their deadlines, the
        crisis mission (avenant 2) within 6 months of the later of the signature and the
        avenant, optional missions by the documented share."""
        for cpts in self.cpts:
            signed = cpts.aci_signed_on
            if signed is None:
                continue
            starts: dict[Mission, date] = {}
            for mission in (Mission.ACCESS_TO_CARE, Mission.CARE_PATHWAYS, Mission.PREVENTION, Mission.CRISIS_RESPONSE):
                deadline = start_deadline(mission, signed)
                assert deadline is not None
                base = max(signed, AVENANT_2) if mission is Mission.CRISIS_RESPONSE else signed
                span = (deadline - base).days
                starts[mission] = base + timedelta(days=self.rng.randint(0, int(span * START_SHARE_OF_DEADLINE)))
            for mission in (Mission.QUALITY_RELEVANCE, Mission.PROFESSIONAL_SUPPORT):
                if self.rng.random() < OPTIONAL_SHARE:
                    starts[mission] = signed + timedelta(days=self.rng.randint(*OPTIONAL_START_DAYS))
            problems = contract_problems(signed, starts)
            assert not problems, (cpts.cpts_id, problems)
            self.contracts[cpts.cpts_id] = starts
            for mission, starts_on in starts.items():
                self.session.add(
                    ContractMission(
                        cpts_id=cpts.cpts_id, mission=mission.value, starts_on=starts_on, recorded_by=LOADER
                    )
                )
        await self.session.flush()

    async def _lump_sums(self) -> None:
        """Avenant 2: the lettre d'intention lump sum, paid by the Assurance maladie before the
        contract, 45 days after the letter; a project whose letter came before the avenant's
        publication and which had not signed by then is paid 45 days after it (catch-up)."""
        versions = builtin_parameters()
        for cpts in self.cpts:
            letters = [p.since for p in self.histories.get(cpts.cpts_id, []) if p.status == "intention_letter_signed"]
            if not letters:
                continue
            on = max(letters[0], AVENANT_2) + timedelta(days=LUMP_SUM_DELAY_DAYS)
            parameters = in_force_on(versions, on)
            history = self.histories.get(cpts.cpts_id, [])
            if parameters is None or on > PAID_UNTIL or status_at(history, on) not in PRE_CONTRACT:
                continue
            amount = parameters.tier_for(cpts.population).intention_letter_lump_sum
            if amount is None:
                continue
            self._flow(
                FlowKind.PAYMENT,
                cpts,
                self.funders["aci"],
                on.year,
                Mission.FUNCTIONING,
                Part.NOT_APPLICABLE,
                amount,
                on,
                f"ACI-LI-{on.year}-{cpts.siren}",
                basis=AciBasis.INTENTION_LETTER_LUMP_SUM,
            )
        await self._publish_flows()

    async def _aci_year(self, year: int) -> None:
        """The envelopes of the year by the service's own rules (contracts, avenant 2, seeded
        achievements), notified as allocations and paid by the schedule (75 % then the balance,
        the variable part after the assessment), up to PAID_UNTIL: never above the maximum,
        fixed parts whole."""
        eligible = [
            c for c in self.cpts if aci_days(self.histories.get(c.cpts_id, []), year, signed_on=c.aci_signed_on) > 0
        ]
        for cpts in eligible:
            first_year = cpts.aci_signed_on is not None and cpts.aci_signed_on.year == year
            low, high, step = FIRST_YEAR_ACHIEVEMENT_STEPS if first_year else ACHIEVEMENT_STEPS
            for mission in self.contracts.get(cpts.cpts_id, {}):
                rate = Decimal(self.rng.randrange(low, high, step)) / 100
                self.session.add(
                    Achievement(cpts_id=cpts.cpts_id, year=year, mission=mission.value, rate=rate, recorded_by=LOADER)
                )
        await self.session.flush()
        inputs = await load_inputs(self.session, [year], [c.cpts_id for c in eligible])
        for cpts in eligible:
            envelope = inputs.envelope(cpts, year)
            assert envelope is not None and envelope.eligible and cpts.aci_signed_on is not None
            enqueue(self.session, self.settings, cpts.cpts_id, build.envelope_event(envelope, cpts))
            history = self.histories.get(cpts.cpts_id, [])
            first_year = cpts.aci_signed_on.year == year
            notified = cpts.aci_signed_on if first_year else contract_anniversary(cpts.aci_signed_on, year)
            if status_at(history, notified) == ACI_SIGNED:
                self._flow(
                    FlowKind.ALLOCATION,
                    cpts,
                    self.funders["aci"],
                    year,
                    Mission.FUNCTIONING,
                    Part.NOT_APPLICABLE,
                    envelope.functioning,
                    notified,
                    f"ACI-{year}-NOTIF-{cpts.siren}",
                )
                for line in envelope.lines:
                    if line.maximum > 0:
                        self._flow(
                            FlowKind.ALLOCATION,
                            cpts,
                            self.funders["aci"],
                            year,
                            line.mission,
                            Part.NOT_APPLICABLE,
                            line.maximum,
                            notified,
                            f"ACI-{year}-NOTIF-{cpts.siren}",
                        )
            for due in payment_schedule(envelope, cpts.aci_signed_on, self.contracts.get(cpts.cpts_id)):
                if due.due_on > PAID_UNTIL or due.amount <= 0:
                    continue
                basis = None if status_at(history, due.due_on) == ACI_SIGNED else AciBasis.BALANCE_UNDER_CONTRACT
                flow = self._flow(
                    FlowKind.PAYMENT,
                    cpts,
                    self.funders["aci"],
                    year,
                    due.mission,
                    due.part,
                    due.amount,
                    due.due_on,
                    f"ACI-{year}-{cpts.siren}-{due.mission.value[:4].upper()}-{due.instalment.value[:3].upper()}",
                    basis=basis,
                )
                self.aci_payments.append(flow)
        await self._publish_flows()

    # --- FIR, collectivités, others ----------------------------------------------------

    def _paid_in(self, year: int) -> list[RegistryCpts]:
        return [c for c in self.cpts if (c.cpts_id, year) in self.aci_paid]

    def _fir_startup(self) -> None:
        """FIR start-up grant for the projects whose intention letter was signed in a demo year."""
        for cpts in self.cpts:
            letters = [p.since for p in self.histories.get(cpts.cpts_id, []) if p.status == "intention_letter_signed"]
            if not letters or letters[0].year not in DEMO_YEARS:
                continue
            letter, year = letters[0], letters[0].year
            amount = FIR_STARTUP.get(cpts.size_tier or "T1", FIR_STARTUP["T1"])
            fir = self.funders[f"fir-{cpts.region}"]
            reference = f"FIR-{year}-AMORCAGE-{cpts.siren}"
            notified, paid = letter + timedelta(days=30), letter + timedelta(days=75)
            self._flow(
                FlowKind.ALLOCATION,
                cpts,
                fir,
                year,
                Mission.FUNCTIONING,
                Part.NOT_APPLICABLE,
                amount,
                notified,
                reference,
            )
            self._flow(
                FlowKind.PAYMENT, cpts, fir, year, Mission.FUNCTIONING, Part.NOT_APPLICABLE, amount, paid, reference
            )
            if self.rng.random() < 0.04:  # the project stalled: part of the grant is taken back
                recovered = scaled(amount, Decimal(self.rng.randrange(20, 51)), 100)
                self._flow(
                    FlowKind.RECOVERY,
                    cpts,
                    fir,
                    year,
                    Mission.FUNCTIONING,
                    Part.NOT_APPLICABLE,
                    recovered,
                    paid + timedelta(days=300),
                    reference + "-TITRE",
                )

    def _fir_missions(self) -> None:
        """A few ARS also fund a mission the ACI already pays (reported as ACI/FIR overlaps)."""
        for cpts in self._paid_in(2023):
            if self.rng.random() < 0.06:
                mission = self.rng.choice([Mission.PREVENTION, Mission.ACCESS_TO_CARE])
                amount = Decimal(self.rng.randrange(10_000, 30_001, 500))
                self._flow(
                    FlowKind.PAYMENT,
                    cpts,
                    self.funders[f"fir-{cpts.region}"],
                    2023,
                    mission,
                    Part.NOT_APPLICABLE,
                    amount.quantize(Decimal("0.01")),
                    date(2023, 6, 1) + timedelta(days=self.rng.randrange(0, 150)),
                    f"FIR-2023-{mission.value[:4].upper()}-{cpts.siren}",
                )

    def _local_authorities(self) -> None:
        ref = territories()
        missions = [Mission.FUNCTIONING, Mission.PREVENTION, Mission.ACCESS_TO_CARE, Mission.PROFESSIONAL_SUPPORT]
        for year in DEMO_YEARS:
            for cpts in self._paid_in(year):
                if self.rng.random() >= 0.10:
                    continue
                kind = self.rng.choice(["region", "departement", "commune", "epci"])
                place = cpts.name.removeprefix("CPTS ").strip() or cpts.cpts_id[:8]
                if kind == "region":
                    funder = self._funder(
                        f"region-{cpts.region}",
                        f"Région {ref.regions.get(cpts.region, cpts.region)}",
                        FunderCategory.LOCAL_REGION,
                    )
                elif kind == "departement":
                    name = ref.departements.get(cpts.departement, (cpts.departement, ""))[0]
                    funder = self._funder(
                        f"dep-{cpts.departement}", f"Département {name}", FunderCategory.LOCAL_DEPARTEMENT
                    )
                elif kind == "commune":
                    funder = self._funder(f"commune-{place}", f"Commune de {place}", FunderCategory.LOCAL_COMMUNE)
                else:
                    funder = self._funder(
                        f"epci-{place}", f"Communauté de communes de {place}", FunderCategory.LOCAL_INTERCOMMUNALITY
                    )
                self._flow(
                    FlowKind.PAYMENT,
                    cpts,
                    funder,
                    year,
                    self.rng.choice(missions),
                    Part.NOT_APPLICABLE,
                    Decimal(self.rng.randrange(5_000, 25_001, 250)).quantize(Decimal("0.01")),
                    date(year, 3, 1) + timedelta(days=self.rng.randrange(0, 240)),
                    f"SUBV-{year}-{self.rng.randrange(1000, 9999)}",
                )

    def _others(self) -> None:
        """State, European funds, private companies, pharmaceutical laboratories, foundations."""
        plan = [
            ("state", 8, (10_000, 40_000), [Mission.OUTSIDE_MISSIONS, Mission.CRISIS_RESPONSE]),
            ("eu", 4, (20_000, 80_000), [Mission.ACCESS_TO_CARE]),
            ("private", 12, (2_000, 15_000), [Mission.PREVENTION, Mission.FUNCTIONING, Mission.OUTSIDE_MISSIONS]),
            ("pharma", 9, (1_500, 10_000), [Mission.PROFESSIONAL_SUPPORT]),  # training, per the Senate
            ("foundation", 5, (3_000, 20_000), [Mission.PREVENTION]),
        ]
        for key, count, (low, high), missions in plan:
            for _ in range(count):
                year = self.rng.choice(DEMO_YEARS)
                cpts = self.rng.choice(self._paid_in(year))
                funder = (
                    self.funders[key]
                    if key in ("state", "eu")
                    else self.funders[
                        f"{key}-{self.rng.randrange(1, {'private': 11, 'pharma': 7, 'foundation': 4}[key])}"
                    ]
                )
                self._flow(
                    FlowKind.PAYMENT,
                    cpts,
                    funder,
                    year,
                    self.rng.choice(missions),
                    Part.NOT_APPLICABLE,
                    Decimal(self.rng.randrange(low, high + 1, 100)).quantize(Decimal("0.01")),
                    date(year, 2, 1) + timedelta(days=self.rng.randrange(0, 300)),
                    f"{key.upper()}-{year}-{self.rng.randrange(100, 999)}",
                )

    async def _corrections(self) -> None:
        """Three ACI payments booked with the wrong reference are corrected the only way the
        service allows: a reversal (opposite amount) and a replacement. The audit trail keeps
        the three flows; every total counts the money once."""
        originals = [f for f in self.aci_payments if f.fiscal_year == 2023 and f.part == Part.FIXED.value]
        by_id = {c.cpts_id: c for c in self.cpts}
        for original in self.rng.sample(originals, 3):
            cpts = by_id[original.cpts_id]
            on = original.flow_date + timedelta(days=10)
            self._flow(
                FlowKind.PAYMENT,
                cpts,
                original.funder,
                original.fiscal_year,
                Mission(original.mission),
                Part(original.part),
                -original.amount,
                on,
                original.funder_reference,
                reverses=original,
                note="wrong mandate reference",
            )
            self._flow(
                FlowKind.PAYMENT,
                cpts,
                original.funder,
                original.fiscal_year,
                Mission(original.mission),
                Part(original.part),
                original.amount,
                self._signed_on(cpts, on),
                original.funder_reference + "-R",
                note="replaces the reversed payment",
            )
        await self._publish_flows()

    async def _declarations(self) -> None:
        """2023 funding sources declared by 60 % of the CPTS paid that year."""
        by_id = {c.cpts_id: c for c in self.cpts}
        made: list[Declaration] = []
        for cpts in self._paid_in(2023):
            if self.rng.random() >= 0.60:
                continue
            sources: list[DeclaredSource] = []
            aci = self.aci_paid[(cpts.cpts_id, 2023)]
            if self.rng.random() < 0.03:  # declared from memory, rounded: the audit will see the gap
                aci = (aci / 1000).quantize(Decimal("1")) * 1000
            sources.append(self._source(self.funders["aci"], aci))
            received: dict[str, tuple[Funder, Decimal]] = {}
            for funder, amount in self.other_paid.get((cpts.cpts_id, 2023), []):
                known = received.get(funder.id, (funder, ZERO))
                received[funder.id] = (funder, known[1] + amount)
            for funder, amount in received.values():
                if funder.category == FunderCategory.PHARMA.value and self.rng.random() < 0.4:
                    continue  # pharmaceutical money left out of the declaration (Senate P11, P12)
                sources.append(self._source(funder, amount))
            fees = Decimal(self.rng.randrange(1_000, 8_001, 50)).quantize(Decimal("0.01"))
            sources.append(
                DeclaredSource(
                    category=FunderCategory.OWN_RESOURCES.value, funder_name="Cotisations des adhérents", amount=fees
                )
            )
            for position, source in enumerate(sources):
                source.position = position
            declaration = Declaration(
                cpts_id=cpts.cpts_id,
                fiscal_year=2023,
                version=1,
                total=sum((s.amount for s in sources), ZERO),
                note="Déclaration de démonstration",
                submitted_by=LOADER,
                sources=sources,
            )
            self.session.add(declaration)
            made.append(declaration)
        await self.session.flush()  # one flush for all of them (ids known), then their events
        for declaration in made:
            cpts = by_id[declaration.cpts_id]
            enqueue(self.session, self.settings, cpts.cpts_id, build.declaration_event(declaration, cpts))
        self.declarations = len(made)

    @staticmethod
    def _source(funder: Funder, amount: Decimal) -> DeclaredSource:
        return DeclaredSource(
            category=funder.category,
            funder_id=funder.id,
            funder_name=funder.name,
            funder_siren=funder.siren,
            amount=amount,
        )
