"""Request and response bodies of the public contract (``/v1``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from cpts_kit.identifiers import Siren
from cpts_registry.domain.coverage import CoverageLevel
from cpts_registry.domain.identifiers import finess_problem, siret_problem
from cpts_registry.domain.lifecycle import Status
from cpts_registry.domain.professions import BoardRole, Profession
from cpts_registry.domain.tiers import SizeTier

InseeRegion = Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
InseeDepartement = Annotated[str, StringConstraints(pattern=r"^(\d{2}|2A|2B|97\d)$")]
CommuneCode = Annotated[str, StringConstraints(pattern=r"^(\d{5}|2A\d{3}|2B\d{3})$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]

MAX_COMMUNES = 2000


def _checked(check: Callable[[str], str | None]) -> AfterValidator:
    """A pydantic validator from one of the domain's ``*_problem`` functions."""

    def validate(value: str) -> str:
        if problem := check(value):
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


Finess = Annotated[str, _checked(finess_problem)]


class LegalForm(StrEnum):
    ASSOCIATION = "association"  # loi du 1er juillet 1901
    ASSOCIATION_DROIT_LOCAL = "association_droit_local"  # Alsace-Moselle
    OTHER = "other"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CptsCreate(Strict):
    name: Name
    siren: Siren
    siret: str | None = None
    finess: Finess | None = None
    legal_form: LegalForm = LegalForm.ASSOCIATION
    region: InseeRegion
    departement: InseeDepartement
    attachment_cpam: InseeDepartement | None = Field(
        None, description="Département of the CPAM the CPTS is attached to (defaults to its département)"
    )
    communes: list[CommuneCode] = Field(min_length=1, max_length=MAX_COMMUNES)
    intention_letter_signed_on: date = Field(description="Date the ARS signed the intention letter")

    @model_validator(mode="after")
    def _siret(self) -> CptsCreate:
        if self.siret is not None and (problem := siret_problem(self.siret, self.siren)):
            raise ValueError(problem)
        return self


class CptsPatch(Strict):
    name: Name | None = None
    siren: Siren | None = None
    siret: str | None = None
    finess: Finess | None = None
    legal_form: LegalForm | None = None
    attachment_cpam: InseeDepartement | None = None


class StatusEntry(BaseModel):
    status: Status
    effective_date: date
    reason: str | None


class CptsSummary(BaseModel):
    id: str
    name: str
    siren: str
    siret: str | None
    finess: str | None
    legal_form: str
    region: str
    departement: str
    attachment_ars: str
    attachment_cpam: str
    status: Status
    status_label: str
    status_since: date
    aci_signed_on: date | None
    contract_anniversary: date | None = Field(description="Next anniversary of the ACI contract")
    population: int
    size_tier: SizeTier
    version: int


class CptsDetail(CptsSummary):
    communes: list[str]
    status_history: list[StatusEntry]


class TransitionRequest(Strict):
    to: Status
    effective_date: date
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class TerritoryRequest(Strict):
    communes: list[CommuneCode] = Field(min_length=1, max_length=MAX_COMMUNES)


class TerritoryView(BaseModel):
    cpts_id: str
    communes: list[str]
    population: int
    size_tier: SizeTier


class MembersRequest(Strict):
    counts: dict[Profession, Annotated[int, Field(ge=0, le=100_000)]] = Field(
        description="Members by profession code; professions left out count 0"
    )


class MembersView(BaseModel):
    cpts_id: str
    year: int
    counts: dict[Profession, int]
    total: int


class BoardMemberIn(Strict):
    name: Name
    role: BoardRole
    profession: Profession


class GovernanceRequest(Strict):
    board: list[BoardMemberIn] = Field(max_length=100)


class BoardMemberOut(BoardMemberIn):
    health_profession: bool = Field(description="Health profession in the sense of the code de la santé publique")


class GovernanceView(BaseModel):
    cpts_id: str
    board: list[BoardMemberOut]
    non_health_members: int = Field(description="Board members whose profession is not a health profession")


class CommuneRef(BaseModel):
    code: str
    name: str
    departement: str
    population: int


class OverlapRef(CommuneRef):
    claims: int
    cpts_ids: list[str] = Field(description="The claiming CPTS the caller may see")


class CoverageView(BaseModel):
    level: CoverageLevel
    code: str | None
    name: str
    population: int
    covered_population: int
    uncovered_population: int
    uncovered_share: float = Field(ge=0, le=1)
    communes: int
    active_cpts: int
    uncovered_communes: list[CommuneRef]
    overlapping_communes: list[OverlapRef]


class ProfessionView(BaseModel):
    code: Profession
    label_fr: str
    health_profession: bool
