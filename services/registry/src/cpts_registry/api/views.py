"""Shapes what the use cases return (the read side's records, the stored CPTS a write returns,
commands' result types) into the HTTP answers."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from cpts_registry import queries
from cpts_registry.api import schemas
from cpts_registry.commands import Governance, Members
from cpts_registry.domain.lifecycle import LABELS_FR, Status, next_anniversary
from cpts_registry.domain.professions import BoardRole, Profession
from cpts_registry.domain.tiers import SizeTier
from cpts_registry.refdata import Commune
from cpts_registry.storage.models import Cpts


class CptsFields(Protocol):
    """What a summary shows: a ``queries.CptsRecord``, or the stored CPTS a write returns."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def siren(self) -> str: ...
    @property
    def siret(self) -> str | None: ...
    @property
    def finess(self) -> str | None: ...
    @property
    def legal_form(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def departement(self) -> str: ...
    @property
    def attachment_cpam(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def status_since(self) -> date: ...
    @property
    def aci_signed_on(self) -> date | None: ...
    @property
    def population(self) -> int: ...
    @property
    def size_tier(self) -> str: ...
    @property
    def version(self) -> int: ...


def _summary_fields(cpts: CptsFields, today: date) -> dict[str, Any]:
    status = Status(cpts.status)
    under_contract = cpts.aci_signed_on is not None and status in (Status.ACI_SIGNED, Status.SUSPENDED)
    return {
        "id": cpts.id,
        "name": cpts.name,
        "siren": cpts.siren,
        "siret": cpts.siret,
        "finess": cpts.finess,
        "legal_form": cpts.legal_form,
        "region": cpts.region,
        "departement": cpts.departement,
        "attachment_ars": cpts.region,
        "attachment_cpam": cpts.attachment_cpam,
        "status": status,
        "status_label": LABELS_FR[status],
        "status_since": cpts.status_since,
        "aci_signed_on": cpts.aci_signed_on,
        "contract_anniversary": next_anniversary(cpts.aci_signed_on, today)
        if under_contract and cpts.aci_signed_on
        else None,
        "population": cpts.population,
        "size_tier": SizeTier(cpts.size_tier),
        "version": cpts.version,
    }


# Built with ``model_validate`` from dicts: pydantic's core does it faster than Python would.
def summary(cpts: CptsFields, today: date) -> schemas.CptsSummary:
    return schemas.CptsSummary.model_validate(_summary_fields(cpts, today))


def detail(found: queries.CptsDetailRecord, today: date) -> schemas.CptsDetail:
    fields = _summary_fields(found.cpts, today)
    fields["communes"] = found.communes
    fields["status_history"] = [
        {"status": h.status, "effective_date": h.effective_date, "reason": h.reason} for h in found.history
    ]
    return schemas.CptsDetail.model_validate(fields)


def stored_detail(cpts: Cpts, today: date) -> schemas.CptsDetail:
    """The answer of a write: the CPTS as the command left it (territory and history loaded)."""
    fields = _summary_fields(cpts, today)
    fields["communes"] = sorted(t.commune for t in cpts.territory)
    fields["status_history"] = [
        {"status": h.status, "effective_date": h.effective_date, "reason": h.reason} for h in cpts.history
    ]
    return schemas.CptsDetail.model_validate(fields)


def coverage(area: queries.CoverageArea) -> schemas.CoverageView:
    result = area.coverage
    return schemas.CoverageView(
        level=area.level,
        code=area.code,
        name=area.name,
        population=result.population,
        covered_population=result.covered_population,
        uncovered_population=result.uncovered_population,
        uncovered_share=round(result.uncovered_share, 6),
        communes=result.communes,
        active_cpts=area.active_cpts,
        uncovered_communes=[_commune(c) for c in result.uncovered],
        overlapping_communes=[
            schemas.OverlapRef(
                **_commune(o.commune).model_dump(),
                claims=len(o.cpts_ids),
                cpts_ids=[i for i in o.cpts_ids if i in area.visible_cpts],
            )
            for o in result.overlaps
        ],
    )


def _commune(commune: Commune) -> schemas.CommuneRef:
    return schemas.CommuneRef(
        code=commune.code, name=commune.name, departement=commune.departement, population=commune.population
    )


def members(found: Members) -> schemas.MembersView:
    counts = {Profession(p): n for p, n in found.counts.items()}
    return schemas.MembersView(cpts_id=found.cpts_id, year=found.year, counts=counts, total=found.total)


def governance(found: Governance) -> schemas.GovernanceView:
    board = [
        schemas.BoardMemberOut(
            name=m.name,
            role=BoardRole(m.role),
            profession=Profession(m.profession),
            health_profession=m.health_profession,
        )
        for m in found.board
    ]
    return schemas.GovernanceView(cpts_id=found.cpts_id, board=board, non_health_members=found.non_health_members)
