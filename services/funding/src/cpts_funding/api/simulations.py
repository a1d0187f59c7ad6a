"""``/v1/simulations``: the what-if simulator for the next ACI negotiation (no state change)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import true

from cpts_funding import aggregates, simulation
from cpts_funding.access import ACCESS
from cpts_funding.api import schemas, shaping
from cpts_funding.api.deps import Caller, Session
from cpts_funding.api.parameters import levers_from_body, parameters_from_body
from cpts_funding.domain.parameters import in_force
from cpts_funding.storage.inputs import parameter_versions
from cpts_kit.problems import Problem, field_error, invalid

router = APIRouter(prefix="/v1/simulations", tags=["simulations"])


@router.post(
    "/aci",
    response_model=schemas.SimulationView,
    summary="National cost of a parameter set and levers",
    responses={422: {"description": "Unknown version, or both or neither of parameters_version and parameters"}},
)
async def simulate_aci(body: schemas.SimulationIn, session: Session, caller: Caller) -> schemas.SimulationView:
    """The national ACI cost, year by year, of a parameter set (a stored or shipped version by
    name, or inline) and levers, with today's signatories and contracts, by tier, mission and
    region, against the current parameters. Nothing is recorded. With the current parameters
    and levers the totals are the analytics' theoretical and maximum envelopes."""
    ACCESS.require(caller, "simulation.run")
    if body.parameters_version is not None and body.parameters is not None:
        raise Problem(
            422,
            "Give parameters_version or parameters, not both",
            type_="/problems/validation-error",
            errors=[field_error("parameters", "not with parameters_version", "both_given")],
        )
    parameters = None
    if body.parameters is not None:
        parameters = parameters_from_body("simulated", body.parameters)
    elif body.parameters_version is not None:
        parameters = next((v for v in await parameter_versions(session) if v.version == body.parameters_version), None)
        if parameters is None:
            raise invalid("parameters_version", "unknown parameter version", "unknown_version")
    years = sorted(set(body.years))
    levers = {y: levers_from_body(y, body.levers) for y in years} if body.levers is not None else None
    nation = aggregates.Where(aggregates.Scope(level="nation", code=None, name="France"), true())
    results = await simulation.simulate(session, caller, nation, years, parameters, levers)
    current = [in_force(await parameter_versions(session), year) for year in years]
    illustrative = (parameters is not None and parameters.illustrative) or any(
        v is not None and v.illustrative for v in current
    )
    return shaping.simulation_view(results, illustrative)
