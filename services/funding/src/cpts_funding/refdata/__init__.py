"""Reference data shipped with the service: INSEE régions and départements (codes, names) and
the illustrative ACI parameter set (see ``SOURCE.md``)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from typing import Any

from cpts_funding.domain.parameters import AciParameters, MissionAmounts, TierAmounts
from cpts_kit.missions import Mission


@dataclass(frozen=True)
class Territories:
    regions: dict[str, str]  # code -> name
    departements: dict[str, tuple[str, str]]  # code -> (name, region code)

    def region_of(self, departement: str) -> str | None:
        found = self.departements.get(departement)
        return found[1] if found else None


def _read(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def territories() -> Territories:
    regions = {row["code"]: row["name"] for row in csv.DictReader(io.StringIO(_read("regions.csv")))}
    departements = {
        row["code"]: (row["name"], row["region"]) for row in csv.DictReader(io.StringIO(_read("departements.csv")))
    }
    return Territories(regions, departements)


def parameters_from_json(data: dict[str, Any], *, builtin: bool, order: int) -> AciParameters:
    tiers = tuple(
        TierAmounts(
            tier=t["tier"],
            min_population=int(t["min_population"]),
            functioning=Decimal(t["functioning"]),
            snp_compensation=Decimal(t["snp_compensation"]),
            missions={
                Mission(name): MissionAmounts(Decimal(a["fixed"]), Decimal(a["variable"]))
                for name, a in t["missions"].items()
            },
            startup_functioning=_optional(t.get("startup_functioning")),
            intention_letter_lump_sum=_optional(t.get("intention_letter_lump_sum")),
        )
        for t in data["tiers"]
    )
    return AciParameters(
        version=data["version"],
        label=data["label"],
        effective_from=date.fromisoformat(data["effective_from"]),
        illustrative=bool(data["illustrative"]),
        source=data["source"],
        tiers=tiers,
        advance_share=Decimal(data.get("advance_share", "0.75")),
        builtin=builtin,
        order=order,
        crisis_update_share=_optional(data.get("crisis_update_share")),
    )


def _optional(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@lru_cache(maxsize=1)
def builtin_parameters() -> tuple[AciParameters, ...]:
    """The illustrative versions shipped with the service (loaded before any other)."""
    document = json.loads(_read("aci_illustrative.json"))
    return tuple(
        parameters_from_json(v, builtin=True, order=-len(document["versions"]) + i)
        for i, v in enumerate(document["versions"])
    )
