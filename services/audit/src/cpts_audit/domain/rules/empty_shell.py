"""Empty shells: money received for missions with no measured activity, few members, no dialogue.

Signals, per year the CPTS received ACI money: missions funded without any measurement
(indicators' activity signals), no dialogue de gestion held, fewer members than a minimum
(registry), no activity report received (documents). A finding needs ``min_signals`` of them;
it is high when every funded mission lacks a measurement or every signal is on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cpts_audit.domain.facts import CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule
from cpts_kit.missions import CONVENTIONAL


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    conventional = {m.value for m in CONVENTIONAL}
    for year in facts.years():
        params = params_for(year).values
        received = facts.received({"aci"}, year)
        if received <= 0:
            continue
        funded = sorted({f.mission for f in facts.payments({"aci"}, year) if f.mission in conventional})
        activity = facts.activity.get(year)
        members = facts.members_in(year)
        signals: list[str] = []
        evidence: list[Evidence] = []
        unmeasured: list[str] = []
        if activity is not None:
            unmeasured = sorted(set(activity.missions_without_measurement) & set(funded))
            evidence.append(Evidence("event", activity.event_id, {"type": "indicators.activity.assessed"}))
            if unmeasured:
                signals.append(f"missions financées sans aucune mesure : {', '.join(unmeasured)}")
            if activity.dialogue_missing:
                signals.append("aucun dialogue de gestion tenu")
        elif year not in facts.dialogue_years and params["count_missing_dialogue_without_indicators"]:
            signals.append("aucun dialogue de gestion connu")
        if members is not None and members.total < int(params["min_members"]):
            signals.append(f"{members.total} adhérents seulement (minimum {params['min_members']})")
            evidence.append(Evidence("event", members.event_id, {"type": "registry.members.reported"}))
        reports = [d for d in facts.documents if d.fiscal_year == year and d.document_type == "activity_report"]
        if not reports:
            signals.append("aucun rapport d'activité transmis")
        if len(signals) < int(params["min_signals"]):
            continue
        all_unmeasured = bool(funded) and set(unmeasured) == set(funded)
        severity = Severity.HIGH if all_unmeasured or len(signals) >= int(params["high_signals"]) else Severity.MEDIUM
        evidence += [Evidence("flow", f.flow_id) for f in facts.payments({"aci"}, year)]
        found.append(
            Candidate(
                year,
                "activity",
                severity,
                received,
                f"{euros(received)} d'ACI reçus pour {year} mais : " + " ; ".join(signals) + ".",
                tuple(evidence),
            )
        )
    return found


RULE = Rule(
    id="empty_shell",
    title="Coquille vide",
    rationale="Sénat r25-032 : risque d'un déploiement « à marche forcée » et de « coquilles vides » ; "
    "propositions 7 et 8.",
    parameters=(
        ParameterVersion(
            "2025-1",
            date(2019, 1, 1),
            {
                "min_members": 15,
                "min_signals": 3,
                "high_signals": 4,
                "count_missing_dialogue_without_indicators": True,
            },
            "Trois signaux au moins ; haute sévérité si toutes les missions financées sont sans mesure ou "
            "si les quatre signaux sont présents.",
        ),
    ),
    evaluate=evaluate,
)
