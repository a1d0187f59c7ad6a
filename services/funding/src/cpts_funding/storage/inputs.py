"""Loads what the envelope computation needs (parameter versions, levers, status histories,
achievements, accepted reallocations) in a few queries, then computes envelopes in memory."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding.domain.eligibility import StatusPeriod, aci_days, contract_year, maturity
from cpts_funding.domain.envelope import Envelope, Move, compute_envelope
from cpts_funding.domain.levers import PolicyLevers, ReductionStep, neutral
from cpts_funding.domain.parameters import AciParameters, MissionAmounts, TierAmounts, in_force, startup_top_up_year
from cpts_funding.refdata import builtin_parameters
from cpts_funding.storage.models import (
    Achievement,
    AciVersion,
    ContractMission,
    PolicyYear,
    Reallocation,
    RegistryCpts,
    RegistryStatus,
)
from cpts_kit.missions import Mission

# Above this many CPTS, load every row rather than a long IN list.
IN_LIST_LIMIT = 500


def version_from_row(row: AciVersion) -> AciParameters:
    return AciParameters(
        version=row.version,
        label=row.label,
        effective_from=row.effective_from,
        illustrative=row.illustrative,
        source=row.source,
        advance_share=row.advance_share,
        tiers=tuple(
            TierAmounts(
                tier=t.tier,
                min_population=t.min_population,
                functioning=t.functioning,
                snp_compensation=t.snp_compensation,
                missions={Mission(m.mission): MissionAmounts(m.fixed, m.variable) for m in t.missions},
                startup_functioning=t.startup_functioning,
                intention_letter_lump_sum=t.intention_letter_lump_sum,
            )
            for t in row.tiers
        ),
        builtin=False,
        order=row.seq,
        created_by=row.created_by,
        crisis_update_share=row.crisis_update_share,
    )


async def parameter_versions(session: AsyncSession) -> list[AciParameters]:
    """The shipped illustrative versions, then those loaded by administrators, in load order."""
    rows = (await session.scalars(select(AciVersion).order_by(AciVersion.seq))).all()
    return [*builtin_parameters(), *(version_from_row(r) for r in rows)]


def levers_from_row(row: PolicyYear) -> PolicyLevers:
    return PolicyLevers(
        year=row.year,
        functioning_reduction=tuple(ReductionStep(s.from_maturity, s.reduction) for s in row.steps),
        variable_share=row.variable_share,
        fungibility_share=row.fungibility_share,
        fungibility_national_cap=row.fungibility_national_cap,
    )


async def policy_levers(session: AsyncSession, years: Collection[int]) -> dict[int, PolicyLevers]:
    rows = (await session.scalars(select(PolicyYear).where(PolicyYear.year.in_(sorted(years))))).all()
    found = {row.year: levers_from_row(row) for row in rows}
    return {year: found.get(year, neutral(year)) for year in years}


class EnvelopeSubject(Protocol):
    """What an envelope needs to know of a CPTS: a stored row or a lighter read of it."""

    @property
    def cpts_id(self) -> str: ...
    @property
    def population(self) -> int: ...
    @property
    def aci_signed_on(self) -> date | None: ...


@dataclass(frozen=True, slots=True)
class Signatory:
    """A CPTS under the ACI, read as the four columns its envelope and the totals need."""

    cpts_id: str
    region: str
    population: int
    aci_signed_on: date | None


async def signatories(session: AsyncSession, *conditions: ColumnElement[bool]) -> list[Signatory]:
    """The CPTS that signed the ACI, matching ``conditions``, by identifier."""
    rows = await session.execute(
        select(RegistryCpts.cpts_id, RegistryCpts.region, RegistryCpts.population, RegistryCpts.aci_signed_on)
        .where(RegistryCpts.aci_signed_on.is_not(None), *conditions)
        .order_by(RegistryCpts.cpts_id)
    )
    return [Signatory(*row) for row in rows]


@dataclass
class EnvelopeInputs:
    versions: list[AciParameters]
    levers: dict[int, PolicyLevers]
    histories: dict[str, list[StatusPeriod]] = field(default_factory=dict)
    achievements: dict[tuple[str, int], dict[Mission, Decimal]] = field(default_factory=dict)
    moves: dict[tuple[str, int], list[Move]] = field(default_factory=dict)
    contracts: dict[str, dict[Mission, date]] = field(default_factory=dict)

    def envelope(
        self,
        cpts: EnvelopeSubject,
        year: int,
        *,
        versions: list[AciParameters] | None = None,
        levers: PolicyLevers | None = None,
    ) -> Envelope | None:
        """None when no parameter version is in force for the year. ``versions`` and ``levers``
        replace the stored ones (the what-if simulator)."""
        versions = versions if versions is not None else self.versions
        parameters = in_force(versions, year)
        if parameters is None:
            return None
        history = self.histories.get(cpts.cpts_id, [])
        contract = self.contracts.get(cpts.cpts_id)
        signed = cpts.aci_signed_on
        mission_days = (
            {mission: aci_days(history, year, since=start, signed_on=signed) for mission, start in contract.items()}
            if contract
            else None
        )
        crisis_since = (contract or {}).get(Mission.CRISIS_RESPONSE) or signed
        crisis_version = crisis_introduced(versions)
        crisis_first_year = (
            crisis_since is not None
            and crisis_version is not None
            and year == max(crisis_since.year, crisis_version.year)
        )
        return compute_envelope(
            year=year,
            parameters=parameters,
            population=cpts.population,
            maturity=maturity(signed, year),
            aci_days=aci_days(history, year, signed_on=signed),
            period=contract_year(signed, year),
            levers=levers or self.levers.get(year) or neutral(year),
            achievements=self.achievements.get((cpts.cpts_id, year)),
            moves=self.moves.get((cpts.cpts_id, year), []),
            mission_days=mission_days,
            signature_year=signed is not None and signed.year == year,
            crisis_first_year=crisis_first_year,
            startup_top_up=signed is not None and startup_top_up_year(versions, signed) == year,
        )


def crisis_introduced(versions: Sequence[AciParameters]) -> date | None:
    """When the crisis mission entered the parameters (avenant 2), if it did."""
    dates = [v.effective_from for v in versions if any(Mission.CRISIS_RESPONSE in t.missions for t in v.tiers)]
    return min(dates) if dates else None


async def load_inputs(
    session: AsyncSession, years: Collection[int], cpts_ids: Sequence[str] | None = None
) -> EnvelopeInputs:
    """Everything needed for the envelopes of ``cpts_ids`` (None: every CPTS) in ``years``."""
    years = sorted(set(years))
    inputs = EnvelopeInputs(await parameter_versions(session), await policy_levers(session, years))
    narrow = cpts_ids is not None and len(cpts_ids) <= IN_LIST_LIMIT
    wanted = set(cpts_ids) if cpts_ids is not None else None

    # Read as columns, not ORM objects: a national analytics request reads every signatory's
    # history, achievements and contract, and building thousands of objects was most of its cost.
    history_query = select(RegistryStatus.cpts_id, RegistryStatus.status, RegistryStatus.effective_date).order_by(
        RegistryStatus.seq
    )
    achievement_query = select(Achievement.cpts_id, Achievement.year, Achievement.mission, Achievement.rate).where(
        Achievement.year.in_(years)
    )
    contract_query = select(ContractMission.cpts_id, ContractMission.mission, ContractMission.starts_on)
    move_query = (
        select(
            Reallocation.cpts_id,
            Reallocation.year,
            Reallocation.from_mission,
            Reallocation.to_mission,
            Reallocation.amount,
        )
        .where(Reallocation.year.in_(years), Reallocation.accepted.is_(True))
        .order_by(Reallocation.seq)
    )
    if narrow and cpts_ids is not None:
        history_query = history_query.where(RegistryStatus.cpts_id.in_(cpts_ids))
        achievement_query = achievement_query.where(Achievement.cpts_id.in_(cpts_ids))
        contract_query = contract_query.where(ContractMission.cpts_id.in_(cpts_ids))
        move_query = move_query.where(Reallocation.cpts_id.in_(cpts_ids))
    for cpts_id, status, effective_date in await session.execute(history_query):
        if wanted is None or cpts_id in wanted:
            inputs.histories.setdefault(cpts_id, []).append(StatusPeriod(status, effective_date))
    for cpts_id, year, mission, rate in await session.execute(achievement_query):
        if wanted is None or cpts_id in wanted:
            inputs.achievements.setdefault((cpts_id, year), {})[Mission(mission)] = rate
    for cpts_id, mission, starts_on in await session.execute(contract_query):
        if wanted is None or cpts_id in wanted:
            inputs.contracts.setdefault(cpts_id, {})[Mission(mission)] = starts_on
    for cpts_id, year, from_mission, to_mission, amount in await session.execute(move_query):
        if wanted is None or cpts_id in wanted:
            inputs.moves.setdefault((cpts_id, year), []).append(
                Move(Mission(from_mission), Mission(to_mission), amount)
            )
    return inputs
