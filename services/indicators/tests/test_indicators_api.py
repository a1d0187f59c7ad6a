"""The indicators API on both backends: catalogue versions, default targets and their bounds,
measurements with evidence, achievement computed by hand, dialogue validation freezing the
year, dialogues missing and activity signals."""

from __future__ import annotations

from typing import Any

from indicators_helpers import AJACCIO, CAEN, PARIS, Api, dialogue, envelope_computed, measurement, project

from cpts_kit.testing import PROBLEM

TARGETS = f"/v1/cpts/{AJACCIO}/targets/2023"
MEASUREMENTS = f"/v1/cpts/{AJACCIO}/measurements"
ACHIEVEMENT = f"/v1/cpts/{AJACCIO}/achievement/2023"
DIALOGUES = f"/v1/cpts/{AJACCIO}/dialogues"


def by_code(items: list[dict[str, Any]], key: str = "indicator") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


async def test_the_shipped_catalogue_is_labelled_illustrative(api: Api) -> None:
    listed = await api.call("GET", "/v1/catalogue", role="cpts", claims={"cpts": AJACCIO})
    assert listed.status_code == 200
    (only,) = listed.json()
    assert only["illustrative"] is True and only["shipped"] is True and "ILLUSTRATIVE" in only["label"]
    version = (await api.call("GET", f"/v1/catalogue/{only['version']}")).json()
    missions = {i["mission"] for i in version["indicators"]}
    assert "crisis_response" not in missions and len(missions) == 5
    grades = by_code(version["indicators"], "code")["access.unscheduled_care"]["grades"]
    assert [g["code"] for g in grades][:2] == ["not_started", "planned"] and all(g["criterion"] for g in grades)
    assert (await api.call("GET", "/v1/catalogue/nope")).status_code == 404


async def test_defaults_follow_the_size_tier_and_maturity(seeded: Api) -> None:
    # Ajaccio: T2, signed in March 2021, so maturity 2 in 2023: ambition × (1 + 0.25 × 2).
    answer = await seeded.as_ars("GET", TARGETS)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["set"], body["size_tier"], body["maturity"]) == (False, "T2", 2)
    targets = by_code(body["targets"])
    assert targets["access.mt_patients_found"]["target"] == "300.00"  # 200 × 1.5
    assert targets["access.ald_without_mt_share"]["target"] == "2.50"  # 4 + (3 − 4) × 1.5
    assert targets["access.ald_without_mt_share"]["baseline"] == "4.00"
    assert targets["access.unscheduled_care"]["target"] == "deployed"  # grade 1 + 2
    # Caen: T1, signed in June 2022: maturity 0 in 2022, the tier's first-year targets.
    caen = (await seeded.call("GET", f"/v1/cpts/{CAEN}/targets/2022")).json()
    assert by_code(caen["targets"])["access.mt_patients_found"]["target"] == "100.00"
    assert by_code(caen["targets"])["access.unscheduled_care"]["target"] == "planned"


async def test_adjustments_stay_within_bounds_and_keep_their_reasons(seeded: Api) -> None:
    def body(target: str | None, reason: str | None = None, grade: str | None = None) -> dict[str, Any]:
        return {
            "indicators": [
                {"indicator": "access.mt_patients_found", "target": target, "reason": reason},
                {"indicator": "access.unscheduled_care", "target": grade, "reason": reason},
            ]
        }

    refusals = [
        (body("200", "Fewer GPs than expected in the valley"), "target_out_of_bounds"),  # below 300 − 30 %
        (body("391", "More GPs than expected in the valley"), "target_out_of_bounds"),  # above 300 + 30 %
        (body("250"), "reason"),
        (body(None, "Only one GP left in the north", grade="planned"), "target_out_of_bounds"),  # two grades away
        (body("abc", "Fewer GPs than expected"), "not_a_number"),
        (body(None, "A reason long enough", grade="excellent"), "not_a_grade"),
        ({"indicators": [{"indicator": "access.nope"}]}, "unknown_indicator"),
    ]
    for wrong, code in refusals:
        answer = await seeded.as_ars("PUT", TARGETS, json=wrong)
        assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM, answer.text
        assert answer.json()["errors"][0]["code"] == code, (wrong, answer.json())
    assert (await seeded.as_ars("GET", TARGETS)).json()["set"] is False  # nothing changed

    done = await seeded.as_ars("PUT", TARGETS, json=body("210", "Two GPs retired in 2023", grade="started"))
    assert done.status_code == 200, done.text
    targets = by_code(done.json()["targets"])
    assert set(targets) == {"access.mt_patients_found", "access.unscheduled_care"}
    assert targets["access.mt_patients_found"] | {"adjusted": True} == targets["access.mt_patients_found"]
    assert (targets["access.mt_patients_found"]["default"], targets["access.mt_patients_found"]["target"]) == (
        "300.00",
        "210.00",
    )
    assert targets["access.unscheduled_care"]["target"] == "started"
    # The CPAM moves one target; both adjustments stay in the history, with who and why.
    again = await seeded.as_cpam("PUT", TARGETS, json=body("390", "A new MSP opened in 2023", grade="started"))
    assert again.status_code == 200
    history = again.json()["adjustments"]
    assert [(a["indicator"], a["target"], a["adjusted_role"]) for a in history] == [
        ("access.mt_patients_found", "210.00", "ars"),
        ("access.unscheduled_care", "started", "ars"),
        ("access.mt_patients_found", "390.00", "cpam"),
        ("access.unscheduled_care", "started", "cpam"),
    ]
    assert history[0]["reason"] == "Two GPs retired in 2023"


async def test_achievement_computed_by_hand(seeded: Api) -> None:
    for body in (
        measurement("access.mt_patients_found", "240"),  # 240 / 300 = 0.8
        measurement("access.ald_without_mt_share", "3.10"),  # (3.10 − 4) / (2.50 − 4) = 0.6
        measurement("access.unscheduled_care", "started", "declarative"),  # 2/3, declarative: × 0.5
        measurement("prevention.actions", "9", "document"),  # 9 / 6 → 1 (at most 1)
        measurement("prevention.flu_vaccination_65", "53.00"),  # (53 − 50) / (54.5 − 50) = 0.6667
        # An earlier period of the same indicator does not count: the latest period does.
        measurement("prevention.flu_vaccination_65", "54.50", period_end="2023-06-30"),
    ):
        answer = await seeded.call("POST", MEASUREMENTS, role="cpts", claims={"cpts": AJACCIO}, json=body)
        assert answer.status_code == 201, answer.text
    result = (await seeded.call("GET", ACHIEVEMENT)).json()
    indicators = by_code(result["indicators"])
    assert indicators["access.mt_patients_found"]["rate"] == "0.8000"
    assert indicators["access.ald_without_mt_share"]["rate"] == "0.6000"
    care = indicators["access.unscheduled_care"]
    assert (care["rate"], care["evidence_factor"], care["counted"]) == ("0.6667", "0.5", "0.3333")
    assert indicators["prevention.actions"]["rate"] == "1.0000"
    assert indicators["prevention.flu_vaccination_65"]["rate"] == "0.6667"
    assert indicators["pathways.formalised"]["rate"] == "0.0000"  # not measured
    missions = by_code(result["missions"], "mission")
    # 0.4 × 0.8 + 0.3 × 0.6 + 0.3 × 0.3333 = 0.59999 → 0.6000; 40,000 × 0.6 = 24,000.00
    assert missions["access_to_care"]["rate"] == "0.6000"
    assert missions["access_to_care"]["variable_maximum"] == "40000.00"
    assert missions["access_to_care"]["variable_earned"] == "24000.00"
    assert missions["access_to_care"]["declarative_share"] == "0.3333"
    # 0.6 × 1 + 0.4 × 0.6667 = 0.86668 → 0.8667; 17,000 × 0.8667 = 14,733.90
    assert (missions["prevention"]["rate"], missions["prevention"]["variable_earned"]) == ("0.8667", "14733.90")
    assert missions["care_pathways"]["rate"] == "0.0000" and missions["care_pathways"]["variable_earned"] == "0.00"
    assert result["variable_earned"] == "38733.90" and result["validated"] is False


async def test_weights_are_renormalised_over_the_targeted_indicators(seeded: Api) -> None:
    chosen = {"indicators": [{"indicator": "access.mt_patients_found"}, {"indicator": "access.unscheduled_care"}]}
    assert (await seeded.as_ars("PUT", TARGETS, json=chosen)).status_code == 200
    for body in (measurement("access.mt_patients_found", "150"), measurement("access.unscheduled_care", "deployed")):
        assert (await seeded.call("POST", MEASUREMENTS, json=body)).status_code == 201
    # (0.4 × 0.5 + 0.3 × 1) / 0.7 = 0.714285... → 0.7143
    missions = by_code((await seeded.call("GET", ACHIEVEMENT)).json()["missions"], "mission")
    assert missions["access_to_care"]["rate"] == "0.7143" and missions["access_to_care"]["indicators_count"] == 2
    assert missions["access_to_care"]["variable_earned"] == "28572.00"
    # Not among the targets any more: refused.
    other = await seeded.call("POST", MEASUREMENTS, json=measurement("access.ald_without_mt_share", "3.00"))
    assert other.status_code == 422 and other.json()["errors"][0]["code"] == "not_targeted"


async def test_bad_measurements_are_refused_and_change_nothing(seeded: Api) -> None:
    cases = [
        (measurement("access.nope", "1"), "unknown_indicator"),
        (measurement("access.mt_patients_found", "10", period_start="2022-12-01"), "period_outside_year"),
        (measurement("access.mt_patients_found", "10", period_end="2024-01-31"), "period_outside_year"),
        (measurement("access.mt_patients_found", "deployed"), "not_a_number"),
        (measurement("access.unscheduled_care", "12"), "not_a_grade"),
        (measurement("access.mt_patients_found", "-3"), "negative_value"),
        (measurement("access.ald_without_mt_share", "3.00", "declarative"), "evidence_not_accepted"),
        (
            measurement(
                "access.mt_patients_found", "10", "document", evidence={"strength": "document", "documents": ["nope"]}
            ),
            "unknown_document",
        ),
        (
            measurement(
                "access.mt_patients_found", "10", evidence={"strength": "document", "documents": ["doc-paris-1"]}
            ),
            "unknown_document",
        ),
        (
            measurement(
                "access.mt_patients_found",
                "10",
                evidence={"strength": "document", "documents": ["doc-ajaccio-rejected"]},
            ),
            "rejected_document",
        ),
        (measurement("access.mt_patients_found", "10", evidence={"strength": "document"}), "documents_required"),
        (measurement("access.mt_patients_found", "10", evidence={"strength": "system_data"}), "extract_required"),
    ]
    for body, code in cases:
        answer = await seeded.call("POST", MEASUREMENTS, json=body)
        assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM, (code, answer.text)
        assert answer.json()["errors"][0]["code"] == code, (code, answer.json())
    malformed = [
        measurement("access.mt_patients_found", 12),  # a JSON number, not a decimal string
        measurement("access.mt_patients_found", "1", year="2023"),
        {**measurement("access.mt_patients_found", "1"), "extra": True},
        measurement("access.mt_patients_found", "1", evidence={"strength": "rumour"}),
        measurement("access.mt_patients_found", "1", source="x" * 301),
    ]
    for body in malformed:
        answer = await seeded.call("POST", MEASUREMENTS, json=body)
        assert answer.status_code == 422 and answer.json()["type"] == "/problems/validation-error", answer.text
    listed = (await seeded.call("GET", MEASUREMENTS)).json()
    assert listed["total"] == 0
    unknown = await seeded.call(
        "POST", "/v1/cpts/unknown/measurements", json=measurement("access.mt_patients_found", "1")
    )
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM


async def test_validation_by_ars_and_cpam_freezes_the_year(seeded: Api) -> None:
    assert (
        await seeded.call("POST", MEASUREMENTS, json=measurement("access.mt_patients_found", "240"))
    ).status_code == 201
    held = await seeded.as_ars("POST", DIALOGUES, json=dialogue())
    assert held.status_code == 201, held.text
    dialogue_id = held.json()["dialogue_id"]
    validation = f"{DIALOGUES}/{dialogue_id}/validation"
    again = await seeded.as_cpam("POST", DIALOGUES, json=dialogue())
    assert again.status_code == 409
    by_ars = await seeded.as_ars("POST", validation)
    assert by_ars.status_code == 200 and by_ars.json()["frozen"] is False
    assert (await seeded.as_ars("POST", validation)).status_code == 409
    # Only the ARS validated: the year still moves.
    assert (
        await seeded.call("POST", MEASUREMENTS, json=measurement("access.mt_patients_found", "270"))
    ).status_code == 201
    refused = await seeded.call("POST", validation, role="cnam")
    assert refused.status_code == 403
    by_cpam = await seeded.as_cpam("POST", validation)
    assert by_cpam.status_code == 200 and by_cpam.json()["frozen"] is True
    assert by_cpam.json()["validated_by_ars"]["by"] == "dev-ars"
    frozen = (await seeded.call("GET", ACHIEVEMENT)).json()
    assert frozen["validated"] is True and frozen["dialogue_id"] == dialogue_id
    assert by_code(frozen["missions"], "mission")["access_to_care"]["rate"] == "0.3600"  # 0.4 × 270 / 300
    late = await seeded.call("POST", MEASUREMENTS, json=measurement("access.mt_patients_found", "300"))
    assert late.status_code == 409 and late.json()["type"] == "/problems/year-frozen"
    retarget = await seeded.as_ars("PUT", TARGETS, json={"indicators": [{"indicator": "access.mt_patients_found"}]})
    assert retarget.status_code == 409
    assert (await seeded.call("GET", ACHIEVEMENT)).json() == frozen
    # Funding's later envelope changes the money, not the frozen rates.
    await project(
        seeded.database, seeded.indicators_settings, [envelope_computed(AJACCIO, 2023, {"access_to_care": "20000.00"})]
    )
    after = by_code((await seeded.call("GET", ACHIEVEMENT)).json()["missions"], "mission")["access_to_care"]
    assert (after["rate"], after["variable_earned"]) == ("0.3600", "7200.00")


async def test_dialogue_input_is_checked(seeded: Api) -> None:
    no_cpam = dialogue(participants=[*dialogue()["participants"][:2], {"name": "Someone", "party": "other"}])
    cases = [
        (no_cpam, "parties"),
        (dialogue(held_on="2022-12-01"), "held_before_year"),
        (dialogue(held_on="2999-01-01"), "future_date"),
        (dialogue(grid=[{"mission": "prevention"}, {"mission": "prevention"}]), "duplicate_mission"),
    ]
    for body, code in cases:
        answer = await seeded.as_ars("POST", DIALOGUES, json=body)
        assert answer.status_code == 422 and answer.json()["errors"][0]["code"] == code, answer.text
    assert (await seeded.as_ars("GET", DIALOGUES)).json() == []


async def test_missing_dialogues_and_activity_signals(seeded: Api) -> None:
    # The dialogues on 2023 are due at the anniversaries in 2024: Paris 10 January, Ajaccio
    # 15 March, Caen 1 June (signed in 2022).
    url = "/v1/dialogues/missing?year=2023&as_of=2024-04-01"
    missing = (await seeded.call("GET", url)).json()
    assert [(m["cpts_id"], m["due_on"]) for m in missing["items"]] == [
        (PARIS, "2024-01-10"),
        (AJACCIO, "2024-03-15"),
    ]
    assert missing["items"][1]["days_overdue"] == 17
    assert (await seeded.call("GET", "/v1/dialogues/missing?year=2023&as_of=2024-06-01")).json()["total"] == 3
    assert (await seeded.call("GET", "/v1/dialogues/missing?year=2021&as_of=2024-06-01")).json()["total"] == 2

    await seeded.call("POST", MEASUREMENTS, json=measurement("access.mt_patients_found", "240"))
    await seeded.call("POST", MEASUREMENTS, json=measurement("prevention.actions", "2", "declarative"))
    activity_url = "/v1/analytics/activity?year=2023&as_of=2024-04-01"
    signals = by_code((await seeded.call("GET", activity_url)).json()["items"], "cpts_id")
    ajaccio = signals[AJACCIO]
    assert ajaccio["missions_funded_without_measurement"] == [
        "care_pathways",
        "quality_relevance",
        "professional_support",
    ]
    assert "crisis_response" in ajaccio["missions_funded"]
    assert (ajaccio["measurements_count"], ajaccio["declarative_share"]) == (2, "0.5000")
    assert (ajaccio["dialogue_due_on"], ajaccio["dialogue_missing"]) == ("2024-03-15", True)
    assert signals[PARIS]["missions_funded"] == [] and signals[PARIS]["declarative_share"] is None
    assert signals[CAEN]["dialogue_missing"] is False  # due on 1 June 2024

    assert (await seeded.as_ars("POST", DIALOGUES, json=dialogue(year=2023, held_on="2024-03-20"))).status_code == 201
    after = (await seeded.call("GET", url)).json()
    assert [m["cpts_id"] for m in after["items"]] == [PARIS]
    assert (await seeded.as_ars("GET", url)).json()["total"] == 0  # Corse: none missing any more
    ajaccio = by_code((await seeded.call("GET", activity_url)).json()["items"], "cpts_id")[AJACCIO]
    assert (ajaccio["dialogue_held"], ajaccio["dialogue_missing"]) == (True, False)
    corse = (await seeded.call("GET", "/v1/analytics/activity?year=2023&region=94")).json()
    assert [r["cpts_id"] for r in corse["items"]] == [AJACCIO]


async def test_catalogue_versions_are_loaded_by_national_roles_and_never_change(api: Api) -> None:
    shipped = (await api.call("GET", "/v1/catalogue")).json()[0]["version"]
    document = (await api.call("GET", f"/v1/catalogue/{shipped}")).json()
    body = {k: v for k, v in document.items() if k not in ("version", "shipped", "loaded_by", "loaded_at")}
    body |= {"effective_year": 2025, "illustrative": False, "label": "ACI indicators, version 2025"}
    refused = await api.call("PUT", "/v1/catalogue/2025.1", role="ars", claims={"region": "94"}, json=body)
    assert refused.status_code == 403
    created = await api.call("PUT", "/v1/catalogue/2025.1", role="dgos", json=body)
    assert created.status_code == 201, created.text
    assert (await api.call("PUT", "/v1/catalogue/2025.1", role="dgos", json=body)).status_code == 200
    changed = await api.call("PUT", "/v1/catalogue/2025.1", json={**body, "label": "Another"})
    assert changed.status_code == 409
    assert (await api.call("PUT", f"/v1/catalogue/{shipped}", json=body)).status_code == 409
    bad_weights = {**body, "indicators": [{**body["indicators"][0], "weight": "0.5"}, *body["indicators"][1:]]}
    wrong = await api.call("PUT", "/v1/catalogue/2025.2", json=bad_weights)
    assert wrong.status_code == 422 and "add up to" in wrong.json()["errors"][0]["message"]
    crisis = {
        **body,
        "indicators": [
            *body["indicators"],
            {**body["indicators"][0], "code": "crisis.x", "mission": "crisis_response"},
        ],
    }
    assert (await api.call("PUT", "/v1/catalogue/2025.3", json=crisis)).status_code == 422
    versions = [v["version"] for v in (await api.call("GET", "/v1/catalogue")).json()]
    assert versions == [shipped, "2025.1"]
