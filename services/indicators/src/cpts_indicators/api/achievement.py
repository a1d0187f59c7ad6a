"""``/v1/cpts/{id}/achievement/{year}``: per indicator and per mission, and the variable part
earned against the envelope's variable maximum."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from cpts_indicators import commands
from cpts_indicators.access import ACCESS
from cpts_indicators.api import schemas
from cpts_indicators.api.deps import Caller, CptsId, Session, YearPath, problems

router = APIRouter(prefix="/v1/cpts", tags=["achievement"])

RULE = (
    "Quantitative: (value − baseline) / (target − baseline) within 0–1; qualitative: grade position / target grade"
    " position, at most 1; not measured: 0. Document or system-data evidence counts in full, declarative-only"
    " evidence for half. Mission: Σ weight × counted / Σ weight over the targeted indicators, four decimals."
    " Variable part earned: variable maximum × mission rate."
)


def view(result: commands.Achievement) -> schemas.AchievementView:
    maxima = [m.variable_maximum for m in result.missions if m.variable_maximum is not None]
    earned = [m.variable_earned for m in result.missions if m.variable_earned is not None]
    return schemas.AchievementView(
        cpts_id=result.cpts.cpts_id,
        year=result.year,
        catalogue_version=result.catalogue_version,
        illustrative=result.illustrative,
        targets_set=result.targets_set,
        validated=result.frozen,
        dialogue_id=result.dialogue_id,
        rule=RULE,
        indicators=[
            schemas.IndicatorAchievementView(
                indicator=r.indicator,
                mission=r.mission,
                weight=f"{r.weight}",
                value=r.value,
                target=r.target,
                rate=r.rate,
                evidence_strength=r.evidence,
                evidence_factor=f"{r.factor}",
                counted=r.counted,
                how=r.how,
            )
            for r in result.indicators
        ],
        missions=[
            schemas.MissionAchievementView(
                mission=m.mission,
                rate=m.rate,
                indicators_count=m.indicators_count,
                measurements_count=m.measurements_count,
                declarative_share=m.declarative_share,
                variable_maximum=m.variable_maximum,
                variable_earned=m.variable_earned,
            )
            for m in result.missions
        ],
        variable_maximum=sum(maxima, Decimal(0)) if maxima else None,
        variable_earned=sum(earned, Decimal(0)) if earned else None,
    )


@router.get(
    "/{cpts_id}/achievement/{year}",
    response_model=schemas.AchievementView,
    summary="Achievement per indicator and mission, and the variable part earned",
    responses=problems(403, 404, 409),
)
async def get_achievement(cpts_id: CptsId, year: YearPath, session: Session, caller: Caller) -> schemas.AchievementView:
    ACCESS.require(caller, "achievement.read")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    return view(await commands.assess(session, cpts, year))
