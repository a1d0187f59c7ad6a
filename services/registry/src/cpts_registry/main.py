"""The registry's FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from cpts_kit.app import create_service_app
from cpts_registry.api import coverage, cpts
from cpts_registry.settings import RegistrySettings

DESCRIPTION = """\
The national registry of CPTS (communautés professionnelles territoriales de santé): identity
(SIREN, SIRET, FINESS), lifecycle from the intention letter to the ACI signature, territory as
INSEE communes with the population covered and the ACI size tier, coverage and "zones
blanches", members by profession and governance. Every answer is scoped to the caller's
territory; errors are RFC 9457 problem+json. Events: `cpts.registry.events` (CloudEvents).
"""


def create_app(settings: RegistrySettings | None = None, *, background: bool = True) -> FastAPI:
    return create_service_app(
        settings or RegistrySettings(),
        title="CPTS registry",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[cpts.router, coverage.router],
        background=background,
    )
