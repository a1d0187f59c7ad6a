"""Loads what the envelope computation needs (parameter versions, levers, status histories,
achievements, accepted reallocations) in a few queries, then computes envelopes in memory."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding.domain.eligibility import StatusPeriod, aci_days, maturity
from cpts_funding.domain.envelope import Envelope, Move, compute_envelope
from cpts_funding.domain.levers import PolicyLevers, ReductionStep, neutral
from cpts_funding.domain.missions import Mission
from cpts_funding.domain.parameters import AciParameters, MissionAmounts, TierAmounts, in_force
from cpts_funding.refdata import builtin_parameters
from cpts_funding.storage.models import Achievement, AciVersion, PolicyYear, Reallocation, RegistryCpts, RegistryStatus

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
            )
            for t in row.tiers
        ),
        builtin=False,
        order=row.seq,
        created_by=row.created_by,
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


@dataclass
class EnvelopeInputs:
    versions: list[AciParameters]
    levers: dict[int, PolicyLevers]
    histories: dict[str, list[StatusPeriod]] = field(default_factory=dict)
    achievements: dict[tuple[str, int], dict[Mission, Decimal]] = field(default_factory=dict)
    moves: dict[tuple[str, int], list[Move]] = field(default_factory=dict)

    def envelope(self, cpts: RegistryCpts, year: int) -> Envelope | None:
        """None when no parameter version is in force for the year."""
        parameters = in_force(self.versions, year)
        if parameters is None:
            return None
        history = self.histories.get(cpts.cpts_id, [])
        return compute_envelope(
            year=year,
            parameters=parameters,
            population=cpts.population,
            maturity=maturity(cpts.aci_signed_on, year),
            aci_days=aci_days(history, year),
            levers=self.levers.get(year) or neutral(year),
            achievements=self.achievements.get((cpts.cpts_id, year)),
            moves=self.moves.get((cpts.cpts_id, year), []),
        )


async def load_inputs(
    session: AsyncSession, years: Collection[int], cpts_ids: Sequence[str] | None = None
) -> EnvelopeInputs:
    """Everything needed for the envelopes of ``cpts_ids`` (None: every CPTS) in ``years``."""
    years = sorted(set(years))
    inputs = EnvelopeInputs(await parameter_versions(session), await policy_levers(session, years))
    narrow = cpts_ids is not None and len(cpts_ids) <= IN_LIST_LIMIT
    wanted = set(cpts_ids) if cpts_ids is not None else None

    history_query = select(RegistryStatus).order_by(RegistryStatus.seq)
    achievement_query = select(Achievement).where(Achievement.year.in_(years))
    move_query = (
        select(Reallocation)
        .where(Reallocation.year.in_(years), Reallocation.accepted.is_(True))
        .order_by(Reallocation.seq)
    )
    if narrow and cpts_ids is not None:
        history_query = history_query.where(RegistryStatus.cpts_id.in_(cpts_ids))
        achievement_query = achievement_query.where(Achievement.cpts_id.in_(cpts_ids))
        move_query = move_query.where(Reallocation.cpts_id.in_(cpts_ids))
    for status in await session.scalars(history_query):
        if wanted is None or status.cpts_id in wanted:
            inputs.histories.setdefault(status.cpts_id, []).append(StatusPeriod(status.status, status.effective_date))
    for achievement in await session.scalars(achievement_query):
        if wanted is None or achievement.cpts_id in wanted:
            key = (achievement.cpts_id, achievement.year)
            inputs.achievements.setdefault(key, {})[Mission(achievement.mission)] = achievement.rate
    for move in await session.scalars(move_query):
        if wanted is None or move.cpts_id in wanted:
            inputs.moves.setdefault((move.cpts_id, move.year), []).append(
                Move(Mission(move.from_mission), Mission(move.to_mission), move.amount)
            )
    return inputs
