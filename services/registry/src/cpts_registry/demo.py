"""A deterministic, realistic national registry for the demo and the tests.

Built from the vendored INSEE communes: each region's communes are cut into contiguous
territories sized like real CPTS (ACI tiers T1-T4), some are left uncovered so that each
region's uncovered share matches the Senate figures (Corse 78.93 %, Normandie 26.58 %,
Centre-Val de Loire 1.68 %; about 5.4 million people nationally), and statuses and ACI
signature dates follow the national counts (700 signatories in May 2025, 24 validated
health projects, the rest intention letters; 173 signatories end 2021, 384 end 2022, 508 end
2023). Same seed, same registry, byte for byte.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cpts_kit.auth import Principal, Role
from cpts_kit.db import Database
from cpts_kit.settings import ServiceSettings
from cpts_registry import commands
from cpts_registry.domain.identifiers import with_luhn_key
from cpts_registry.domain.lifecycle import Status
from cpts_registry.domain.professions import BoardRole, Profession
from cpts_registry.refdata import Commune, Reference, load_reference
from cpts_registry.storage.models import Cpts

SEED = 2025

# Share of each region's inhabitants that no CPTS covers. Corse, Normandie and Centre-Val de
# Loire are the Senate's figures; the others are set so that the nation totals ~5.4 million.
UNCOVERED_SHARE = {
    "94": 0.7893,
    "28": 0.2658,
    "24": 0.0168,
    "11": 0.09,
    "84": 0.05,
    "75": 0.04,
    "76": 0.06,
    "32": 0.05,
    "44": 0.08,
    "93": 0.09,
    "52": 0.03,
    "53": 0.02,
    "27": 0.07,
    "01": 0.15,
    "02": 0.10,
    "03": 0.45,
    "04": 0.05,
    "06": 0.60,
}

# Population targets of a territory by tier: (weight, low, high).
TIER_MIX = ((0.33, 13_000, 38_000), (0.41, 40_000, 76_000), (0.22, 80_000, 165_000), (0.04, 176_000, 240_000))

# Cumulative ACI signatories at dates (ameli, Fédération des CPTS, Senate; reference/aci_cpts.md).
SIGNATURE_CURVE = (
    (date(2019, 9, 1), 0),
    (date(2020, 11, 30), 28),
    (date(2021, 5, 31), 117),
    (date(2021, 12, 31), 173),
    (date(2022, 12, 31), 384),
    (date(2023, 12, 31), 508),
    (date(2024, 6, 30), 567),
    (date(2025, 5, 31), 700),
)
SIGNATORIES = 700
VALIDATED_PROJECTS = 24
DISSOLVED = 6

# Members per 100,000 inhabitants covered in a mature CPTS (the Senate's membership shares
# applied to the density of liberal practitioners; infirmiers are the largest group).
MEMBERS_PER_100K = {
    Profession.MEDECIN_GENERALISTE: 22.0,
    Profession.INFIRMIER: 29.0,
    Profession.MASSEUR_KINESITHERAPEUTE: 9.0,
    Profession.PHARMACIEN: 9.0,
    Profession.SAGE_FEMME: 3.0,
    Profession.GYNECOLOGUE: 0.4,
    Profession.AUTRE_MEDECIN_SPECIALISTE: 3.0,
    Profession.CHIRURGIEN_DENTISTE: 0.3,
    Profession.ORTHOPHONISTE: 2.0,
    Profession.PEDICURE_PODOLOGUE: 1.5,
    Profession.DIETETICIEN: 1.0,
    Profession.PSYCHOLOGUE: 1.5,
    Profession.TRAVAILLEUR_SOCIAL: 0.5,
}

FIRST_NAMES = (
    "Camille",
    "Claire",
    "Julien",
    "Sophie",
    "Nicolas",
    "Isabelle",
    "Thomas",
    "Nathalie",
    "Pierre",
    "Émilie",
    "Laurent",
    "Anne",
    "Marc",
    "Céline",
    "François",
    "Hélène",
    "Olivier",
    "Sandrine",
)
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
)
LEADING = (
    Profession.MEDECIN_GENERALISTE,
    Profession.INFIRMIER,
    Profession.PHARMACIEN,
    Profession.MASSEUR_KINESITHERAPEUTE,
)
NON_HEALTH = (
    Profession.PSYCHOLOGUE,
    Profession.ELU_LOCAL,
    Profession.TRAVAILLEUR_SOCIAL,
    Profession.PERSONNEL_ADMINISTRATIF,
)

LOADER = Principal(subject="demo-loader", role=Role.CNAM)
TODAY = date(2025, 5, 31)  # the registry as the Senate saw it


@dataclass
class Territory:
    region: str
    communes: list[Commune] = field(default_factory=list)

    @property
    def population(self) -> int:
        return sum(c.population for c in self.communes)

    @property
    def departement(self) -> str:
        counts: dict[str, int] = {}
        for c in self.communes:
            counts[c.departement] = counts.get(c.departement, 0) + c.population
        return max(sorted(counts), key=lambda d: counts[d])

    @property
    def name(self) -> str:
        main = max(self.communes, key=lambda c: (c.population, c.code))
        return f"CPTS {main.name}"


def _target_population(rng: random.Random) -> int:
    roll, acc = rng.random(), 0.0
    for weight, low, high in TIER_MIX:
        acc += weight
        if roll <= acc:
            return rng.randint(low, high)
    return rng.randint(TIER_MIX[-1][1], TIER_MIX[-1][2])


def cut_region(ref: Reference, region: str, rng: random.Random) -> tuple[list[Territory], list[Commune]]:
    """Contiguous-by-code territories inside each département, then the uncovered part."""
    territories: list[Territory] = []
    for dep in sorted((d for d in ref.departements.values() if d.region == region), key=lambda d: d.code):
        current = Territory(region)
        target = _target_population(rng)
        for commune in ref.communes_in_departement(dep.code):
            current.communes.append(commune)
            if current.population >= target:
                territories.append(current)
                current, target = Territory(region), _target_population(rng)
        if current.communes:
            if territories and territories[-1].communes[0].departement == dep.code and current.population < 15_000:
                territories[-1].communes += current.communes
            else:
                territories.append(current)
    total = sum(t.population for t in territories)
    remaining = round(total * UNCOVERED_SHARE.get(region, 0.05))
    uncovered: list[Commune] = []
    # Whole territories first (zones blanches are contiguous), then single communes to land on the share.
    per_departement = Counter(t.departement for t in territories)
    for territory in rng.sample(territories, len(territories)):
        # Every département keeps at least one CPTS.
        if territory.population <= remaining and per_departement[territory.departement] > 1:
            per_departement[territory.departement] -= 1
            remaining -= territory.population
            uncovered += territory.communes
            territory.communes = []
    territories = [t for t in territories if t.communes]
    for territory in rng.sample(territories, len(territories)):
        for commune in sorted(territory.communes, key=lambda c: -c.population):
            if len(territory.communes) > 1 and 0 < commune.population <= remaining:
                territory.communes.remove(commune)
                uncovered.append(commune)
                remaining -= commune.population
    return territories, uncovered


def _signature_date(rank: int) -> date:
    """Date of the ``rank``-th signature (1-based) on the piecewise-linear national curve."""
    for (d0, n0), (d1, n1) in itertools.pairwise(SIGNATURE_CURVE):
        if rank <= n1:
            span = (d1 - d0).days
            return d0 + timedelta(days=round(span * (rank - n0) / (n1 - n0)))
    return SIGNATURE_CURVE[-1][0]


def _siren(rng: random.Random, used: set[str]) -> str:
    while True:
        siren = with_luhn_key("8" + "".join(rng.choice("0123456789") for _ in range(7)))
        if siren not in used:
            used.add(siren)
            return siren


def _board(rng: random.Random, with_non_health: bool) -> list[commands.BoardSeat]:
    roles = [BoardRole.PRESIDENT, BoardRole.VICE_PRESIDENT, BoardRole.TREASURER, BoardRole.SECRETARY]
    roles += [BoardRole.MEMBER] * rng.randint(2, 6)
    board = []
    for index, role in enumerate(roles):
        profession = rng.choice(LEADING) if index < 4 else rng.choice(list(MEMBERS_PER_100K)[:9])
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        board.append(commands.BoardSeat(name=name, role=role.value, profession=profession.value))
    if with_non_health:
        board[-1] = commands.BoardSeat(
            name=board[-1].name, role=BoardRole.MEMBER.value, profession=rng.choice(NON_HEALTH).value
        )
    return board


def _members(rng: random.Random, population: int, maturity: float) -> dict[Profession, int]:
    counts = {}
    for profession, per_100k in MEMBERS_PER_100K.items():
        expected = per_100k * population / 100_000 * maturity * rng.uniform(0.6, 1.4)
        counts[profession] = int(expected + rng.random())
    return {p: n for p, n in counts.items() if n > 0}


def build_plan(ref: Reference, seed: int = SEED) -> tuple[list[Territory], dict[str, list[Commune]]]:
    rng = random.Random(seed)
    territories: list[Territory] = []
    uncovered: dict[str, list[Commune]] = {}
    for region in sorted(ref.regions):
        cut, left = cut_region(ref, region, rng)
        territories += cut
        uncovered[region] = left
    return territories, uncovered


async def load_demo(settings: ServiceSettings, seed: int = SEED) -> str:
    """Load the demo registry into an empty database; a loaded database is left as it is."""
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            existing = await commands.count_cpts(session)
        if existing:
            return f"demo data already there ({existing} CPTS)"
        ref = load_reference()
        territories, _ = build_plan(ref, seed)
        rng = random.Random(seed + 1)
        order = rng.sample(range(len(territories)), len(territories))
        signed_rank = {index: rank + 1 for rank, index in enumerate(order[:SIGNATORIES])}
        validated = set(order[SIGNATORIES : SIGNATORIES + VALIDATED_PROJECTS])
        used: set[str] = set()
        async with db.sessionmaker() as session:
            for index, territory in enumerate(territories):
                await _load_one(session, settings, rng, territory, signed_rank.get(index), index in validated, used)
            for territory in rng.sample(territories, DISSOLVED):
                await _load_dissolved(session, settings, rng, territory, used)
            await session.commit()
        return f"demo data loaded: {len(territories) + DISSOLVED} CPTS ({SIGNATORIES} ACI signatories)"
    finally:
        await db.dispose()


async def _load_one(
    session: AsyncSession,
    settings: ServiceSettings,
    rng: random.Random,
    territory: Territory,
    rank: int | None,
    validated: bool,
    used: set[str],
) -> None:
    if rank is not None:
        signed = _signature_date(rank)
        validated_on = signed - timedelta(days=rng.randint(30, 240))
    elif validated:
        signed, validated_on = None, date(2023, 6, 1) + timedelta(days=rng.randint(0, 700))
    else:
        signed, validated_on = None, None
    letter = (validated_on or date(2023, 9, 1) + timedelta(days=rng.randint(0, 630))) - timedelta(
        days=rng.randint(90, 365) if validated_on else 0
    )
    siren = _siren(rng, used)
    dep = territory.departement
    body = commands.Registration(
        name=territory.name,
        siren=siren,
        siret=with_luhn_key(siren + "0001"),
        finess=(dep if len(dep) == 2 else dep[:2]) + f"{rng.randint(0, 9_999_999):07d}" if rng.random() < 0.3 else None,
        region=territory.region,
        departement=dep,
        communes=[c.code for c in territory.communes],
        intention_letter_signed_on=letter,
    )
    cpts = await commands.register(session, settings, LOADER, body, TODAY)
    if validated_on is not None:
        await _move(session, settings, cpts, Status.HEALTH_PROJECT_VALIDATED, validated_on)
    if signed is not None:
        await _move(session, settings, cpts, Status.ACI_SIGNED, signed)
        for year in range(signed.year, TODAY.year + 1):
            maturity = min(1.0, 0.45 + 0.18 * (year - signed.year))
            counts = _members(rng, territory.population, maturity)
            await commands.report_members(session, settings, cpts, year, {p.value: n for p, n in counts.items()})
    if validated_on is not None:
        board = _board(rng, with_non_health=rng.random() < 0.08)
        await commands.set_governance(session, settings, cpts, board)


async def _load_dissolved(
    session: AsyncSession, settings: ServiceSettings, rng: random.Random, territory: Territory, used: set[str]
) -> None:
    """Former projects that never reached the ACI: they claim communes but cover nothing."""
    letter = date(2020, 1, 15) + timedelta(days=rng.randint(0, 600))
    body = commands.Registration(
        name=f"{territory.name} (ancien projet)",
        siren=_siren(rng, used),
        region=territory.region,
        departement=territory.departement,
        communes=[c.code for c in territory.communes[: max(1, len(territory.communes) // 2)]],
        intention_letter_signed_on=letter,
    )
    cpts = await commands.register(session, settings, LOADER, body, TODAY)
    await _move(session, settings, cpts, Status.DISSOLVED, letter + timedelta(days=rng.randint(200, 500)))


async def _move(session: AsyncSession, settings: ServiceSettings, cpts: Cpts, to: Status, on: date) -> None:
    await commands.transition(session, settings, LOADER, cpts, commands.Transition(to=to, effective_date=on), TODAY)
