"""The API on PostgreSQL and SQLite: findings from projected events, filters, the workflow with
its events, re-evaluation without duplicates, updates and closes when facts change, risk with
its contributions, the ranking, the mission report, the rules, bad input."""

from __future__ import annotations

import json

from audit_helpers import (
    CORSE_ID,
    PARIS_ID,
    Api,
    accounts,
    declaration,
    document_received,
    envelope,
    flagged,
    flow,
    members,
    registered,
)
from sqlalchemy import select

from cpts_audit.storage.models import Finding
from cpts_kit.outbox import OutboxEvent
from cpts_kit.testing import PROBLEM, database_state

LAB = flagged(17, "706000", "Formation financée par Laboratoire Sanofi", "4000.00", "health_industry")
YOGA = flagged(27, "604000", "Séance de yoga pour les membres du bureau", "800.00", "leisure_or_culture")


def headline(cpts_id: str = CORSE_ID, *, flags: list[dict[str, str]] | None = None) -> list:  # type: ignore[type-arg]
    """A CPTS declares ACI and FIR, both are paid, its FEC books an undeclared lab subsidy and yoga."""
    return [
        registered(cpts_id),
        members(cpts_id, 2023, 120),
        flow(cpts_id, "aci", "120000.00", mission="prevention"),
        flow(cpts_id, "fir", "30000.00", funder="ARS Corse"),
        declaration(cpts_id, [("aci", "120000.00", "CPAM"), ("fir", "30000.00", "ARS Corse")]),
        document_received(cpts_id, "activity_report", financial_part=True),
        accounts(
            cpts_id,
            {"assurance_maladie": "120000.00", "subsidy_ars_fir": "30000.00", "pharma_industry": "4000.00"},
            flags=[LAB, YOGA] if flags is None else flags,
        ),
    ]


async def outbox_types(api: Api) -> list[str]:
    async with api.db.sessionmaker() as session:
        return list((await session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.seq))).all())


async def test_the_headline_findings_with_their_evidence(api: Api) -> None:
    await api.project(headline())
    page = (await api.call("GET", "/v1/findings")).json()
    by_rule = {f["rule"]: f for f in page["items"]}
    assert set(by_rule) == {"undeclared_source", "out_of_mission_spending"}, by_rule.keys()
    assert page["total"] == 2
    lab = by_rule["undeclared_source"]
    assert (lab["severity"], lab["amount"], lab["fiscal_year"], lab["status"]) == ("high", "4000.00", 2023, "open")
    assert any(e["kind"] == "fec_line" and e["line"] == 17 and "Sanofi" in e["label"] for e in lab["evidence"])
    assert any(e["kind"] == "declaration" for e in lab["evidence"])
    yoga = by_rule["out_of_mission_spending"]
    assert yoga["amount"] == "800.00" and yoga["evidence"][0]["line"] == 27
    assert "yoga" in yoga["explanation"]
    types = await outbox_types(api)
    assert types.count("fr.cpts.audit.finding.raised.v1") == 2 and "fr.cpts.audit.risk.changed.v1" in types


async def test_same_facts_same_findings_no_duplicate_no_event(api: Api) -> None:
    events = headline()
    await api.project(events)
    before = await outbox_types(api)
    outcome = await api.project(events[:3])  # redelivered facts mark the CPTS again
    assert (outcome.raised, outcome.updated, outcome.closed) == (0, 0, 0)
    assert await outbox_types(api) == before
    assert (await api.call("GET", "/v1/findings")).json()["total"] == 2


async def test_changed_facts_update_then_close(api: Api) -> None:
    await api.project(headline())
    [lab] = (await api.call("GET", "/v1/findings", params={"rule": "undeclared_source"})).json()["items"]
    more = accounts(
        CORSE_ID,
        {"assurance_maladie": "120000.00", "subsidy_ars_fir": "30000.00", "pharma_industry": "6000.00"},
        flags=[LAB],
    )
    outcome = await api.project([more])
    assert outcome.updated == 1 and outcome.closed == 1  # the lab amount grew; the yoga line is gone
    updated = (await api.call("GET", f"/v1/findings/{lab['id']}")).json()
    assert updated["amount"] == "6000.00" and updated["id"] == lab["id"]
    yoga = (await api.call("GET", "/v1/findings", params={"rule": "out_of_mission_spending"})).json()["items"][0]
    assert yoga["status"] == "closed"
    fixed = declaration(
        CORSE_ID, [("aci", "120000.00", "CPAM"), ("fir", "30000.00", "ARS"), ("pharma", "6000.00", "Sanofi")], version=2
    )
    await api.project([fixed])
    assert (await api.call("GET", f"/v1/findings/{lab['id']}")).json()["status"] == "closed"
    types = await outbox_types(api)
    assert types.count("fr.cpts.audit.finding.updated.v1") == 1 and types.count("fr.cpts.audit.finding.closed.v1") == 2


async def test_workflow_with_reasons_authors_and_events(api: Api) -> None:
    await api.project(headline())
    [lab] = (await api.call("GET", "/v1/findings", params={"rule": "undeclared_source"})).json()["items"]
    url = f"/v1/findings/{lab['id']}"
    ars = {"region": "94"}
    missing = await api.call("PATCH", url, "ars", ars, json={"status": "acknowledged"})
    assert missing.status_code == 422 and missing.headers["content-type"] == PROBLEM
    skip = await api.call("PATCH", url, "ars", ars, json={"status": "resolved", "reason": "Déjà vu"})
    assert skip.status_code == 409 and skip.json()["allowed_transitions"] == ["acknowledged", "dismissed"]
    ack = await api.call(
        "PATCH", url, "ars", ars, json={"status": "acknowledged", "reason": "Demande de justificatifs"}
    )
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    done = await api.call(
        "PATCH", url, "auditor", json={"status": "resolved", "reason": "Convention signée avec le laboratoire"}
    )
    assert done.status_code == 200
    history = done.json()["history"]
    assert [(h["from_status"], h["to_status"], h["role"]) for h in history] == [
        ("open", "acknowledged", "ars"),
        ("acknowledged", "resolved", "auditor"),
    ]
    again = await api.call("PATCH", url, "auditor", json={"status": "dismissed", "reason": "Non"})
    assert again.status_code == 409 and again.json()["allowed_transitions"] == []
    async with api.db.sessionmaker() as session:
        bodies = (
            await session.scalars(
                select(OutboxEvent.body).where(OutboxEvent.type == "fr.cpts.audit.finding.status_changed.v1")
            )
        ).all()
    steps = [json.loads(b)["data"] for b in bodies]
    assert [(s["to_status"], s["author"], s["reason"]) for s in steps] == [
        ("acknowledged", "dev-ars", "Demande de justificatifs"),
        ("resolved", "dev-auditor", "Convention signée avec le laboratoire"),
    ]
    # A resolved finding leaves the risk score; re-running the rules keeps its status.
    await api.project(headline()[:1])
    assert (await api.call("GET", url)).json()["status"] == "resolved"
    risk = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/risk")).json()
    assert [c["rule"] for c in risk["contributions"]] == ["out_of_mission_spending"]


async def test_if_match_refuses_a_step_on_a_stale_read(api: Api) -> None:
    """Two controllers read the same finding; the first step wins, the second (with the ETag
    of its now stale read) gets a 412 and changes nothing; a fresh read lets it act."""
    await api.project(headline())
    [lab] = (await api.call("GET", "/v1/findings", params={"rule": "undeclared_source"})).json()["items"]
    url = f"/v1/findings/{lab['id']}"
    read = await api.call("GET", url, "auditor")
    tag = read.headers["ETag"]
    assert tag.startswith('"') and (await api.call("GET", url, "ars", {"region": "94"})).headers["ETag"] == tag
    first = await api.call(
        "PATCH", url, "auditor", json={"status": "acknowledged", "reason": "Pris en charge"}, headers={"If-Match": tag}
    )
    assert first.status_code == 200 and first.headers["ETag"] != tag
    before = await database_state(api.db)
    stale = await api.call(
        "PATCH",
        url,
        "ars",
        {"region": "94"},
        json={"status": "dismissed", "reason": "Sans objet"},
        headers={"If-Match": tag},
    )
    assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM
    assert stale.json()["type"] == "/problems/precondition-failed" and first.headers["ETag"] in stale.json()["detail"]
    assert await database_state(api.db) == before
    fresh = await api.call("GET", url, "ars", {"region": "94"})
    assert fresh.headers["ETag"] == first.headers["ETag"] and fresh.json()["status"] == "acknowledged"
    done = await api.call(
        "PATCH",
        url,
        "ars",
        {"region": "94"},
        json={"status": "resolved", "reason": "Convention produite"},
        headers={"If-Match": fresh.headers["ETag"]},
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    # A change of facts is a change too: the evaluator's update makes an older ETag stale.
    [yoga] = (await api.call("GET", "/v1/findings", params={"rule": "out_of_mission_spending"})).json()["items"]
    yoga_url = f"/v1/findings/{yoga['id']}"
    old = (await api.call("GET", yoga_url)).headers["ETag"]
    bigger = flagged(27, "604000", "Séance de yoga pour les membres du bureau", "1200.00", "leisure_or_culture")
    await api.project([headline(flags=[LAB, bigger])[-1]])
    assert (await api.call("GET", yoga_url)).json()["amount"] == "1200.00"
    late = await api.call(
        "PATCH",
        yoga_url,
        "auditor",
        json={"status": "acknowledged", "reason": "Vu en contrôle"},
        headers={"If-Match": old},
    )
    assert late.status_code == 412
    star = await api.call(
        "PATCH",
        yoga_url,
        "auditor",
        json={"status": "acknowledged", "reason": "Vu en contrôle"},
        headers={"If-Match": "*"},
    )
    assert star.status_code == 200


async def test_a_closed_finding_that_comes_back_keeps_its_workflow_status(api: Api) -> None:
    await api.project(headline())
    [yoga] = (await api.call("GET", "/v1/findings", params={"rule": "out_of_mission_spending"})).json()["items"]
    await api.call(
        "PATCH", f"/v1/findings/{yoga['id']}", "auditor", json={"status": "acknowledged", "reason": "Vu, à suivre"}
    )
    await api.project([headline(flags=[LAB])[-1]])
    assert (await api.call("GET", f"/v1/findings/{yoga['id']}")).json()["status"] == "closed"
    await api.project([headline()[-1]])
    back = (await api.call("GET", f"/v1/findings/{yoga['id']}")).json()
    assert back["status"] == "acknowledged" and back["id"] == yoga["id"]


async def test_risk_explains_itself_and_ranks(api: Api) -> None:
    await api.project([*headline(), *headline(PARIS_ID, flags=[])])
    risk = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/risk")).json()
    points = {c["rule"]: c["points"] for c in risk["contributions"]}
    assert points == {"undeclared_source": 20, "out_of_mission_spending": 20}  # high; under 10,000 €
    assert risk["score"] == 40 == sum(points.values()) and risk["weights"]["severity_points"]["high"] == 20
    ranking = (await api.call("GET", "/v1/risk")).json()
    assert [r["cpts_id"] for r in ranking["items"]] == [CORSE_ID, PARIS_ID]
    assert ranking["items"][0]["score"] > ranking["items"][1]["score"]
    corse_only = (await api.call("GET", "/v1/risk", params={"region": "94"})).json()
    assert corse_only["total"] == 1


async def test_filters(api: Api) -> None:
    await api.project([*headline(), *headline(PARIS_ID)])
    for params, total in (
        ({"severity": "high"}, 4),
        ({"cpts": PARIS_ID}, 2),
        ({"region": "11"}, 2),
        ({"departement": "2A"}, 2),
        ({"rule": "out_of_mission_spending"}, 2),
        ({"year": 2022}, 0),
        ({"status": "open", "limit": 1}, 4),
    ):
        page = (await api.call("GET", "/v1/findings", params=params)).json()
        assert page["total"] == total, params
    summary = (await api.call("GET", "/v1/findings/summary")).json()
    assert summary["total"] == 4 and {i["rule"] for i in summary["items"]} == {
        "undeclared_source",
        "out_of_mission_spending",
    }


async def test_mission_report(api: Api) -> None:
    spending = {
        "document_id": "doc-s",
        "cpts_id": CORSE_ID,
        "region": "94",
        "departement": "2A",
        "fiscal_year": 2023,
        "spending": {
            "by_mission": {"prevention": "50000.00", "crisis_response": "1000.00", "functioning": "0.00"},
            "by_nature": {},
            "total": "51000.00",
            "items": 2,
        },
    }
    from audit_helpers import event

    await api.project(
        [
            registered(CORSE_ID),
            envelope(CORSE_ID, "150000.00", lines={"prevention": "40000.00", "crisis_response": "35000.00"}),
            flow(CORSE_ID, "aci", "40000.00", mission="prevention"),
            flow(CORSE_ID, "aci", "35000.00", mission="crisis_response"),
            event("fr.cpts.documents.spending_statement.received.v1", spending),
        ]
    )
    report = (await api.call("GET", "/v1/reports/missions", params={"year": 2023})).json()
    lines = {m["mission"]: m for m in report["missions"]}
    assert lines["crisis_response"] == {
        "mission": "crisis_response",
        "theoretical": "35000.00",
        "aci_paid": "35000.00",
        "spent": "1000.00",
        "paid_share_of_theoretical": "1.0000",
        "spent_share_of_paid": "0.0286",
        "cpts_with_spending": 1,
    }
    assert lines["prevention"]["spent"] == "50000.00" and lines["functioning"]["theoretical"] == "75000.00"
    assert report["cpts_with_envelope"] == 1 and report["cpts_with_spending_statement"] == 1
    other = (await api.call("GET", "/v1/reports/missions", params={"year": 2023, "region": "11"})).json()
    assert all(m["aci_paid"] == "0.00" for m in other["missions"])


async def test_rules_list_their_parameters(api: Api) -> None:
    rules = (await api.call("GET", "/v1/rules", "integrator")).json()
    hoarding = next(r for r in rules if r["id"] == "hoarding")
    assert hoarding["parameters"][0]["values"]["months"] == "12" and hoarding["rationale"]
    assert len(rules) >= 11


async def test_bad_input_gets_problems_and_changes_nothing(api: Api) -> None:
    await api.project(headline())
    before = await outbox_types(api)
    for method, url, kwargs in (
        ("GET", "/v1/findings", {"params": {"severity": "huge"}}),
        ("GET", "/v1/findings", {"params": {"limit": 100000}}),
        ("GET", "/v1/findings", {"params": {"region": "Corse"}}),
        ("GET", "/v1/reports/missions", {"params": {"year": "soon"}}),
        ("GET", "/v1/findings/" + "x" * 65, {}),
        ("PATCH", "/v1/findings/unknown", {"json": {"status": "acknowledged", "reason": "vu"}}),
    ):
        answer = await api.call(method, url, "auditor", **kwargs)
        assert answer.status_code in (404, 422) and answer.headers["content-type"] == PROBLEM, (url, answer.text)
    [lab] = (await api.call("GET", "/v1/findings", params={"rule": "undeclared_source"})).json()["items"]
    for body in (
        {"status": "closed", "reason": "moi"},
        {"status": "acknowledged", "reason": "x" * 3000},
        {"status": 3},
        {"status": "acknowledged", "reason": "ok", "extra": 1},
    ):
        answer = await api.call("PATCH", f"/v1/findings/{lab['id']}", "auditor", json=body)
        assert answer.status_code in (409, 422) and answer.headers["content-type"] == PROBLEM, body
    assert await outbox_types(api) == before
    async with api.db.sessionmaker() as session:
        assert {f.status for f in (await session.scalars(select(Finding))).all()} == {"open"}


async def test_replay_rebuilds_the_same_findings_and_keeps_their_states(api: Api) -> None:
    events = [*headline(), *headline(PARIS_ID)]
    await api.project(events)
    [lab] = (await api.call("GET", "/v1/findings", params={"rule": "undeclared_source", "cpts": CORSE_ID})).json()[
        "items"
    ]
    await api.call(
        "PATCH", f"/v1/findings/{lab['id']}", "auditor", json={"status": "dismissed", "reason": "Erreur de saisie"}
    )
    before = (await api.call("GET", "/v1/findings", params={"limit": 500})).json()
    outbox_before = await outbox_types(api)
    from cpts_audit import commands

    async with api.db.sessionmaker() as session:
        # The topics from offset zero, redelivered events included: the same facts.
        projected, outcome = await commands.replay(session, api.settings, [*events, *events[:4]])
        await session.commit()
    assert projected == len(events) + 4
    assert (outcome.raised, outcome.updated, outcome.closed) == (0, 0, 0)
    after = (await api.call("GET", "/v1/findings", params={"limit": 500})).json()
    assert after == before and after["total"] == 4
    assert next(f for f in after["items"] if f["id"] == lab["id"])["status"] == "dismissed"
    assert await outbox_types(api) == outbox_before  # nothing new to tell
    async with api.db.sessionmaker() as session:
        # A replay of fewer facts (the yoga line gone from the topics) closes what they no longer support.
        _, outcome = await commands.replay(session, api.settings, [*headline(flags=[LAB]), *headline(PARIS_ID)])
        await session.commit()
    assert outcome.closed == 1 and outcome.raised == 0


async def test_contract_events_of_this_round_drive_their_rules(api: Api) -> None:
    """indicators' activity signals, funding's over_maximum and the pay lines of documents'
    spending statements, checked against their producers' published schemas, reach
    empty_shell, aci_above_maximum and remuneration_above_frame."""
    from audit_helpers import event

    place = {"cpts_id": CORSE_ID, "region": "94", "departement": "2A"}
    aci = flow(CORSE_ID, "aci", "50000.00", mission="prevention", flow_id="flow-aci-1")
    activity = event(
        "fr.cpts.indicators.activity.assessed.v1",
        {
            **place,
            "year": 2023,
            "missions_funded": ["prevention"],
            "missions_funded_without_measurement": ["prevention"],
            "measurements_count": 0,
            "declarative_share": "1.0000",
            "dialogue_missing": True,
            "as_of": "2024-06-30",
        },
    )
    over = event(
        "fr.cpts.funding.envelope.over_maximum.v1",
        {
            **place,
            "year": 2023,
            "maximum": "40000.00",
            "paid": "50000.00",
            "excess": "10000.00",
            "flow_ids": ["flow-aci-1"],
        },
    )
    spending = event(
        "fr.cpts.documents.spending_statement.received.v1",
        {
            **place,
            "document_id": "doc-spending-1",
            "fiscal_year": 2023,
            "spending": {
                "by_mission": {"prevention": "42000.00"},
                "by_nature": {"staff": "42000.00"},
                "total": "42000.00",
                "items": 2,
                "remunerations": [
                    {"label": "Coordinatrice", "amount": "12000.00", "hours": "400.00", "persons": 1},
                    {"label": "Vacations de formation", "amount": "30000.00", "hours": "100.00", "persons": None},
                ],
            },
        },
    )
    await api.project([registered(CORSE_ID), members(CORSE_ID, 2023, 80), aci, activity, over, spending])
    found = {f["rule"]: f for f in (await api.call("GET", "/v1/findings")).json()["items"]}
    assert found["empty_shell"]["severity"] == "high" and "prevention" in found["empty_shell"]["explanation"]
    assert found["aci_above_maximum"]["amount"] == "10000.00"
    assert any(e["id"] == "flow-aci-1" for e in found["aci_above_maximum"]["evidence"])
    # 300 € an hour against the 150 € frame: 15,000 € above it; 30 € an hour is fine.
    pay = found["remuneration_above_frame"]
    assert pay["amount"] == "15000.00" and "Vacations de formation" in pay["explanation"]
    assert "Coordinatrice" not in pay["explanation"]
    assert any(e["id"] == "doc-spending-1" for e in pay["evidence"])
