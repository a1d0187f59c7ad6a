"""Helpers of the funding tests (a module name unique across the repository)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cpts_funding.events.projection import GROUP_ID, TOPIC, apply_registry_event
from cpts_funding.settings import FundingSettings
from cpts_kit import testing
from cpts_kit.db import Database
from cpts_kit.events import CloudEvent
from cpts_kit.inbox import EventConsumer
from cpts_kit.testing import UNREACHABLE

PROBLEM = "application/problem+json"
REGISTRY_SOURCE = "/cpts/registry"
REGISTERED = "fr.cpts.registry.cpts.registered.v1"
STATUS_CHANGED = "fr.cpts.registry.cpts.status_changed.v1"
TERRITORY_UPDATED = "fr.cpts.registry.territory.updated.v1"

# Three CPTS of the tests: in Corse-du-Sud (region 94), Paris (11) and Calvados (28).
AJACCIO = "11111111-1111-4111-8111-111111111111"
PARIS = "22222222-2222-4222-8222-222222222222"
CAEN = "33333333-3333-4333-8333-333333333333"
CNAM_SIREN = "180035024"  # Luhn-valid


def make_settings(database_url: str, state_dir: Path, bootstrap: str = UNREACHABLE) -> FundingSettings:
    return testing.make_settings(
        FundingSettings, database_url, state_dir, bootstrap, demo_wait_seconds=30, demo_poll_seconds=0.2
    )


def registered(
    cpts_id: str,
    *,
    name: str,
    region: str,
    departement: str,
    population: int,
    size_tier: str,
    letter_on: date = date(2019, 1, 10),
    siren: str = "732829320",
) -> CloudEvent:
    """A ``cpts.registered`` event shaped like the registry's (contracts/events/registry)."""
    return CloudEvent(
        source=REGISTRY_SOURCE,
        type=REGISTERED,
        subject=cpts_id,
        data={
            "cpts_id": cpts_id,
            "name": name,
            "siren": siren,
            "siret": None,
            "finess": None,
            "legal_form": "association",
            "region": region,
            "departement": departement,
            "attachment_ars": region,
            "attachment_cpam": departement,
            "status": "intention_letter_signed",
            "status_since": letter_on.isoformat(),
            "aci_signed_on": None,
            "population": population,
            "size_tier": size_tier,
            "communes": ["2A004"],
        },
    )


def status_changed(
    cpts_id: str,
    *,
    region: str,
    departement: str,
    from_status: str,
    to_status: str,
    on: date,
    aci_signed_on: date | None = None,
) -> CloudEvent:
    return CloudEvent(
        source=REGISTRY_SOURCE,
        type=STATUS_CHANGED,
        subject=cpts_id,
        data={
            "cpts_id": cpts_id,
            "region": region,
            "departement": departement,
            "from_status": from_status,
            "to_status": to_status,
            "effective_date": on.isoformat(),
            "reason": None,
            "aci_signed_on": aci_signed_on.isoformat() if aci_signed_on else None,
        },
    )


def signatory_events(
    cpts_id: str,
    *,
    name: str,
    region: str,
    departement: str,
    population: int,
    size_tier: str,
    signed_on: date | None,
    siren: str = "732829320",
) -> list[CloudEvent]:
    """Registration, validated health project and (if ``signed_on``) the ACI signature."""
    letter = date(2019, 1, 10)
    events = [
        registered(
            cpts_id,
            name=name,
            region=region,
            departement=departement,
            population=population,
            size_tier=size_tier,
            letter_on=letter,
            siren=siren,
        )
    ]
    where = {"region": region, "departement": departement}
    events.append(
        status_changed(
            cpts_id, **where, from_status="intention_letter_signed", to_status="health_project_validated", on=letter
        )
    )
    if signed_on is not None:
        events.append(
            status_changed(
                cpts_id,
                **where,
                from_status="health_project_validated",
                to_status="aci_signed",
                on=signed_on,
                aci_signed_on=signed_on,
            )
        )
    return events


async def project(db: Database, settings: FundingSettings, events: list[CloudEvent]) -> None:
    """Apply registry events through the real handler and inbox (what the consumer does for
    each message it reads from the broker)."""
    consumer = EventConsumer(db, settings, group_id=GROUP_ID, topics=[TOPIC], handler=apply_registry_event)
    for event in events:
        await consumer.apply(event)


def writer_of(funder: str) -> str:
    """A role that records this funder's money: FIR by the DGOS (or an ARS), the rest by the Cnam."""
    return "dgos" if funder == "fir" else "cnam"


@dataclass
class Api(testing.Api):
    """The kit's test client, with the funding tests' own builders."""

    funders: dict[str, str] = field(default_factory=dict)

    async def seed_three(self) -> None:
        """Ajaccio (T2, ACI signed 15 March 2021), Paris (T4, signed 10 January 2020), Caen
        (T1, health project validated, never signed), and one funder of each main category."""
        await project(
            self.db,
            self.settings,
            signatory_events(
                AJACCIO,
                name="CPTS du Pays Ajaccien",
                region="94",
                departement="2A",
                population=50_000,
                size_tier="T2",
                signed_on=date(2021, 3, 15),
            )
            + signatory_events(
                PARIS,
                name="CPTS Paris 15",
                region="11",
                departement="75",
                population=200_000,
                size_tier="T4",
                signed_on=date(2020, 1, 10),
                siren="552100554",
            )
            + signatory_events(
                CAEN,
                name="CPTS Caen la Mer",
                region="28",
                departement="14",
                population=30_000,
                size_tier="T1",
                signed_on=None,
                siren="542107651",
            ),
        )
        for key, body in (
            ("aci", {"name": "Caisse nationale de l'Assurance maladie", "category": "aci", "siren": CNAM_SIREN}),
            ("fir", {"name": "ARS Corse", "category": "fir"}),
            ("region", {"name": "Collectivité de Corse", "category": "local_region"}),
            ("pharma", {"name": "Laboratoire Exemple", "category": "pharma"}),
        ):
            answer = await self.call("POST", "/v1/funders", json=body)
            assert answer.status_code == 201, answer.text
            self.funders[key] = answer.json()["id"]

    def flow(self, funder: str = "aci", **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "payment",
            "cpts_id": AJACCIO,
            "funder_id": self.funders[funder],
            "fiscal_year": 2023,
            "mission": "prevention",
            "part": "fixed",
            "amount": "12500.50",
            "date": "2023-03-15",
            "funder_reference": "MANDAT-2023-001",
        }
        body.update(overrides)
        return body

    async def post_flow(self, funder: str = "aci", role: str | None = None, **overrides: Any) -> dict[str, Any]:
        role = role or writer_of(funder)
        answer = await self.call("POST", "/v1/flows", role=role, json=self.flow(funder, **overrides))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())
