"""Access from the shared table, through the kit's access matrix: every action of ``ACCESS`` x
every role x inside/outside the territory. Allowed roles get their answer inside their
territory and see nothing outside (404 for one resource, empty lists and reports); other roles
get a 403 wherever they are; a refused request changes no row (``database_state``)."""

from __future__ import annotations

import pytest
from audit_helpers import CORSE_ID, Api, accounts, flagged, flow, registered

from cpts_audit.access import ACCESS
from cpts_kit.testing import Caller, Probe, assert_access, standard_callers

CALLERS = standard_callers(region="94", departement="2A", other_region="11", other_departement="75")
TERRITORIAL = [c for c in CALLERS if c.claims]


async def seed(api: Api) -> str:
    """One finding on the Corsican CPTS (a yoga class booked in its accounts)."""
    yoga = flagged(27, "604000", "Séance de yoga", "800.00", "leisure_or_culture")
    await api.project(
        [
            registered(CORSE_ID),
            flow(CORSE_ID, "aci", "1000.00"),
            accounts(CORSE_ID, {"assurance_maladie": "1000.00"}, flags=[yoga]),
        ]
    )
    page = (await api.call("GET", "/v1/findings")).json()
    assert page["total"] == 1
    return str(page["items"][0]["id"])


def probes(finding_id: str, caller: Caller) -> dict[str, Probe | list[Probe]]:
    """The requests guarded by each action. The role check comes before the territory: a role
    the table refuses gets a 403 wherever it is; an allowed one outside its territory gets a
    404 for one resource and an answer counting nothing for a list or a report."""

    def outside(action: str, status: int) -> int:
        return status if ACCESS.allows(caller.role, action) else 403

    def scoped(action: str, method: str, url: str, **options: object) -> Probe:
        return Probe(method, url, CORSE_ID, outside=outside(action, 200), **options)  # type: ignore[arg-type]

    return {
        "finding.read": [
            Probe("GET", f"/v1/findings/{finding_id}", CORSE_ID, outside=outside("finding.read", 404)),
            scoped("finding.read", "GET", "/v1/findings"),
        ],
        "finding.summary": scoped("finding.summary", "GET", "/v1/findings/summary"),
        "risk.read": Probe("GET", f"/v1/cpts/{CORSE_ID}/risk", CORSE_ID, outside=outside("risk.read", 404)),
        "risk.rank": scoped("risk.rank", "GET", "/v1/risk"),
        "report.missions": scoped("report.missions", "GET", "/v1/reports/missions", params={"year": "2023"}),
        "rule.read": scoped("rule.read", "GET", "/v1/rules"),
        # No broker in these tests: an allowed replay answers 503 and changes nothing.
        "replay": Probe("POST", "/v1/replay", CORSE_ID, ok=503, outside=403),
        # Last: once acknowledged, the finding has moved on.
        "finding.update": Probe(
            "PATCH",
            f"/v1/findings/{finding_id}",
            CORSE_ID,
            json={"status": "acknowledged", "reason": "Vu en dialogue de gestion"},
            outside=outside("finding.update", 404),
        ),
    }


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.label)
async def test_the_access_table_rules_every_endpoint(api: Api, caller: Caller) -> None:
    finding_id = await seed(api)
    seen = await assert_access(api, ACCESS, probes(finding_id, caller), caller)
    if seen["finding.update"] == [200]:
        assert (await api.call("GET", f"/v1/findings/{finding_id}")).json()["status"] == "acknowledged"


@pytest.mark.parametrize("caller", [c for c in TERRITORIAL if not c.inside], ids=lambda c: c.label)
async def test_outside_the_territory_lists_and_reports_count_nothing(api: Api, caller: Caller) -> None:
    await seed(api)
    claims = caller.claims_for(CORSE_ID)
    for url in ("/v1/findings", "/v1/risk"):
        answer = await api.call("GET", url, caller.role.value, claims)
        assert answer.status_code == 403 or answer.json()["total"] == 0, (url, answer.text)
    summary = await api.call("GET", "/v1/findings/summary", caller.role.value, claims)
    assert summary.status_code == 200 and "800" not in summary.text, summary.text
    report = await api.call("GET", "/v1/reports/missions", caller.role.value, claims, params={"year": 2023})
    assert report.status_code == 200
    assert all(m["aci_paid"] == "0.00" for m in report.json()["missions"])


async def test_missing_or_bad_token(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        answer = await api.client.get("/v1/findings", headers=headers)
        assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
