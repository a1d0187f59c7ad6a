"""The HTTP answers, shaped from what the use cases return (stored CPTS, result types)."""

from __future__ import annotations

from datetime import date

from cpts_registry.api import schemas
from cpts_registry.commands import Governance, Members
from cpts_registry.domain.lifecycle import LABELS_FR, Status, next_anniversary
from cpts_registry.domain.professions import BoardRole, Profession
from cpts_registry.domain.tiers import SizeTier
from cpts_registry.storage.models import Cpts


def summary(cpts: Cpts, today: date) -> schemas.CptsSummary:
    status = Status(cpts.status)
    return schemas.CptsSummary(
        id=cpts.id,
        name=cpts.name,
        siren=cpts.siren,
        siret=cpts.siret,
        finess=cpts.finess,
        legal_form=cpts.legal_form,
        region=cpts.region,
        departement=cpts.departement,
        attachment_ars=cpts.region,
        attachment_cpam=cpts.attachment_cpam,
        status=status,
        status_label=LABELS_FR[status],
        status_since=cpts.status_since,
        aci_signed_on=cpts.aci_signed_on,
        contract_anniversary=next_anniversary(cpts.aci_signed_on, today)
        if cpts.aci_signed_on and status in (Status.ACI_SIGNED, Status.SUSPENDED)
        else None,
        population=cpts.population,
        size_tier=SizeTier(cpts.size_tier),
        version=cpts.version,
    )


def detail(cpts: Cpts, today: date) -> schemas.CptsDetail:
    return schemas.CptsDetail(
        **summary(cpts, today).model_dump(),
        communes=sorted(t.commune for t in cpts.territory),
        status_history=[
            schemas.StatusEntry(status=Status(h.status), effective_date=h.effective_date, reason=h.reason)
            for h in cpts.history
        ],
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
