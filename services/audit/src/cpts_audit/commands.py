"""The audit's use cases on the write side: re-run the rules of a CPTS and reconcile its
findings (raise, update, close, each with its event), move a finding in its workflow, keep
the risk score. Each runs in the caller's transaction with its events (outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_audit.domain import risk
from cpts_audit.domain.facts import CptsFacts
from cpts_audit.domain.findings import TRANSITIONS, Candidate, Status, allowed_transitions, finding_id
from cpts_audit.domain.rules import all_rules
from cpts_audit.events import payloads
from cpts_audit.events.projection import apply_event, mark_dirty, write_pending
from cpts_audit.events.readers import fact_key
from cpts_audit.queries import contributions
from cpts_audit.storage import facts as fact_store
from cpts_audit.storage.models import DirtyCpts, Fact, Finding, FindingTransition, RiskScore
from cpts_kit.auth import Principal
from cpts_kit.db import utcnow
from cpts_kit.events import CloudEvent
from cpts_kit.outbox import enqueue
from cpts_kit.problems import Problem
from cpts_kit.settings import ServiceSettings

AUDIT_AUTHOR = "audit"
# In ``evaluate_dirty``'s ``settled``: how many looks in a row found marks moving (no CPTS id
# is empty), and after how many the stable marks are evaluated anyway (events keep coming).
BUSY = ""
BUSY_LOOKS = 20


@dataclass
class Outcome:
    raised: int = 0
    updated: int = 0
    closed: int = 0
    unchanged: int = 0
    risk_changed: int = 0
    evaluated: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)

    def add(self, other: Outcome) -> None:
        self.raised += other.raised
        self.updated += other.updated
        self.closed += other.closed
        self.unchanged += other.unchanged
        self.risk_changed += other.risk_changed
        self.evaluated += other.evaluated
        for rule, count in other.by_rule.items():
            self.by_rule[rule] = self.by_rule.get(rule, 0) + count


def _data(finding: Finding) -> dict[str, object]:
    return {
        "finding_id": finding.id,
        "rule": finding.rule,
        "cpts_id": finding.cpts_id,
        "region": finding.region,
        "departement": finding.departement,
        "fiscal_year": finding.fiscal_year,
        "severity": finding.severity,
        "amount": finding.amount,
        "explanation": finding.explanation,
        "evidence": finding.evidence,
        "status": finding.status,
        "parameters_version": finding.parameters_version,
        "first_seen": finding.first_seen,
        "updated_at": finding.updated_at,
    }


def _publish(
    session: AsyncSession, settings: ServiceSettings, kind: type[payloads.FindingData], finding: Finding
) -> None:
    enqueue(session, settings, finding.cpts_id, kind.model_validate(_data(finding)))


def _same(finding: Finding, candidate: Candidate, version: str) -> bool:
    return (
        finding.severity == candidate.severity.value
        and finding.amount == candidate.amount
        and finding.explanation == candidate.explanation
        and finding.evidence == [e.as_dict() for e in candidate.evidence]
        and finding.parameters_version == version
    )


async def evaluate_cpts(session: AsyncSession, settings: ServiceSettings, cpts_id: str) -> Outcome:
    """Run every rule on the CPTS's facts and reconcile its findings."""
    outcome = Outcome()
    facts = await fact_store.load(session, cpts_id)
    known = {f.id: f for f in (await session.scalars(select(Finding).where(Finding.cpts_id == cpts_id))).all()}
    produced: set[str] = set()
    now = utcnow()
    if facts is not None:
        for rule in all_rules():
            for candidate in rule.run(facts):
                ident = finding_id(rule.id, cpts_id, candidate.fiscal_year, candidate.key)
                produced.add(ident)
                version = rule.parameters_for(candidate.fiscal_year).version
                _reconcile(session, settings, facts, known, ident, rule.id, candidate, version, now, outcome)
    for ident, finding in known.items():
        if ident not in produced and finding.status != Status.CLOSED.value:
            _close(session, settings, finding, now)
            outcome.closed += 1
    await session.flush()
    if facts is not None and await _update_risk(session, settings, facts):
        outcome.risk_changed += 1
    return outcome


def _reconcile(
    session: AsyncSession,
    settings: ServiceSettings,
    facts: CptsFacts,
    known: dict[str, Finding],
    ident: str,
    rule: str,
    candidate: Candidate,
    version: str,
    now: datetime,
    outcome: Outcome,
) -> None:
    finding = known.get(ident)
    evidence = [e.as_dict() for e in candidate.evidence]
    if finding is None:
        finding = Finding(
            id=ident,
            rule=rule,
            key=candidate.key,
            cpts_id=facts.cpts.cpts_id,
            region=facts.cpts.region,
            departement=facts.cpts.departement,
            fiscal_year=candidate.fiscal_year,
            severity=candidate.severity.value,
            amount=candidate.amount,
            explanation=candidate.explanation,
            evidence=evidence,
            parameters_version=version,
            status=Status.OPEN.value,
            first_seen=now,
            updated_at=now,
            revision=1,
        )
        session.add(finding)
        known[ident] = finding
        _publish(session, settings, payloads.FindingRaised, finding)
        outcome.raised += 1
        outcome.by_rule[rule] = outcome.by_rule.get(rule, 0) + 1
        return
    reopened = finding.status == Status.CLOSED.value
    if not reopened and _same(finding, candidate, version):
        outcome.unchanged += 1
        return
    finding.severity, finding.amount = candidate.severity.value, candidate.amount
    finding.explanation, finding.evidence, finding.parameters_version = candidate.explanation, evidence, version
    finding.region, finding.departement = facts.cpts.region, facts.cpts.departement
    finding.updated_at, finding.revision = now, finding.revision + 1
    if reopened:
        previous = finding.status_before_close or Status.OPEN.value
        finding.status, finding.status_before_close = previous, None
        _history(session, finding, Status.CLOSED.value, previous, "Les faits justifient de nouveau ce constat", now)
        _publish(session, settings, payloads.FindingRaised, finding)
        outcome.raised += 1
    else:
        _publish(session, settings, payloads.FindingUpdated, finding)
        outcome.updated += 1


def _close(session: AsyncSession, settings: ServiceSettings, finding: Finding, now: datetime) -> None:
    previous = finding.status
    finding.status_before_close, finding.status = previous, Status.CLOSED.value
    finding.updated_at, finding.revision = now, finding.revision + 1
    _history(session, finding, previous, Status.CLOSED.value, "Les faits ne justifient plus ce constat", now)
    _publish(session, settings, payloads.FindingClosed, finding)


def _history(session: AsyncSession, finding: Finding, from_: str, to: str, reason: str, now: datetime) -> None:
    session.add(
        FindingTransition(
            finding_id=finding.id,
            from_status=from_,
            to_status=to,
            author=AUDIT_AUTHOR,
            role=AUDIT_AUTHOR,
            reason=reason,
            by_audit=True,
            at=now,
        )
    )


async def _update_risk(session: AsyncSession, settings: ServiceSettings, facts: CptsFacts) -> bool:
    parts = await contributions(session, facts.cpts.cpts_id)
    score = risk.score(parts)
    row = await session.get(RiskScore, facts.cpts.cpts_id)
    previous = row.score if row else 0
    if row is None:
        row = RiskScore(cpts_id=facts.cpts.cpts_id, score=0, open_findings=0)
        session.add(row)
    row.region, row.departement, row.name = facts.cpts.region, facts.cpts.departement, facts.cpts.name
    changed = row.score != score or row.open_findings != len(parts)
    row.score, row.open_findings = score, len(parts)
    if changed:
        row.updated_at = utcnow()
        enqueue(
            session,
            settings,
            facts.cpts.cpts_id,
            payloads.RiskChanged(
                cpts_id=facts.cpts.cpts_id,
                region=facts.cpts.region,
                departement=facts.cpts.departement,
                score=score,
                previous_score=previous,
                open_findings=len(parts),
                weights_version=risk.WEIGHTS_VERSION,
                contributions=[
                    payloads.RiskContributionData(
                        finding_id=c.finding_id, rule=c.rule, severity=c.severity, amount=c.amount, points=c.points
                    )
                    for c in parts
                ],
            ),
        )
    return changed


async def change_status(
    session: AsyncSession, settings: ServiceSettings, caller: Principal, finding: Finding, to: Status, reason: str
) -> Finding:
    """A step of the workflow, by a controller, with its reason and its event."""
    current = Status(finding.status)
    if to not in TRANSITIONS[current]:
        raise Problem(
            409,
            f"A finding cannot go from {current.value} to {to.value}",
            type_="/problems/invalid-transition",
            allowed_transitions=allowed_transitions(current),
        )
    now = utcnow()
    finding.status, finding.updated_at, finding.revision = to.value, now, finding.revision + 1
    session.add(
        FindingTransition(
            finding_id=finding.id,
            from_status=current.value,
            to_status=to.value,
            author=caller.subject,
            role=caller.role.value,
            reason=reason,
            by_audit=False,
            at=now,
        )
    )
    enqueue(
        session,
        settings,
        finding.cpts_id,
        payloads.FindingStatusChanged(
            finding_id=finding.id,
            rule=finding.rule,
            cpts_id=finding.cpts_id,
            region=finding.region,
            departement=finding.departement,
            fiscal_year=finding.fiscal_year,
            from_status=current,
            to_status=to,
            reason=reason,
            author=caller.subject,
            author_role=caller.role.value,
            at=now,
        ),
    )
    await session.flush()
    facts = await fact_store.load(session, finding.cpts_id)
    if facts is not None:
        await _update_risk(session, settings, facts)
    return finding


async def evaluate_dirty(
    session: AsyncSession, settings: ServiceSettings, limit: int = 500, settled: dict[str, int] | None = None
) -> Outcome:
    """Re-run the rules of the CPTS whose facts changed; clears a mark only if no newer
    change arrived meanwhile (its version is the one read). Several replicas evaluate at once:
    each claims its marks (row locks held until its commit; on PostgreSQL another replica skips
    them), so a CPTS is evaluated by one replica at a time and its findings raised once.

    With ``settled`` (each mark's version at the caller's previous look, updated here), only
    the CPTS whose facts did not change since then are evaluated, and only once no mark moved
    since then (the projection is quiet) or marks kept moving for ``BUSY_LOOKS`` looks: while
    a projection catches up, a CPTS is evaluated once its facts are all in, not on each
    partial state (which would raise and close findings in turn, and publish each). A CPTS
    whose events are spread over a topic keeps still between two batches of the catch-up;
    evaluating it then cost the consumer most of its time (the evaluator's CPU, and its
    transactions holding SQLite's write lock), and the result was thrown away at its next
    event."""
    outcome = Outcome()
    claim = select(DirtyCpts.cpts_id, DirtyCpts.version).order_by(DirtyCpts.cpts_id)
    if settled is None:
        claim = claim.limit(limit)
    marks: list[tuple[str, int]] = [
        (cpts_id, version) for cpts_id, version in await session.execute(claim.with_for_update(skip_locked=True))
    ]
    if settled is not None:
        looked = {cpts_id: version for cpts_id, version in marks}
        busy = settled.get(BUSY, 0) + 1 if any(settled.get(c) != v for c, v in looked.items()) else 0
        if 0 < busy < BUSY_LOOKS:
            marks = []  # the projection is applying events: look again
        else:
            busy = 0
            marks = [(cpts_id, version) for cpts_id, version in marks if settled.get(cpts_id) == version][:limit]
        settled.clear()
        settled.update(looked)
        settled[BUSY] = busy
        for cpts_id, _ in marks:
            del settled[cpts_id]  # its next mark starts again at version 1
    for cpts_id, version in marks:
        outcome.add(await evaluate_cpts(session, settings, cpts_id))
        outcome.evaluated += 1
        await session.execute(delete(DirtyCpts).where(DirtyCpts.cpts_id == cpts_id, DirtyCpts.version == version))
    return outcome


async def replay(session: AsyncSession, settings: ServiceSettings, events: list[CloudEvent]) -> tuple[int, Outcome]:
    """Rebuild every projection from the given events (the topics read from offset zero) and
    re-run every rule. Findings keep their ids (deterministic) and their workflow states: an
    unchanged finding is left as it is, so a replay on the same facts publishes nothing."""
    await session.execute(delete(Fact))
    await session.execute(delete(DirtyCpts))
    applied = 0
    for event in events:
        if fact_key(event.type, event.data) is not None:
            await apply_event(session, event)
            applied += 1
    await write_pending(session)  # the facts and the marks, read below
    for (cpts_id,) in (await session.execute(select(Finding.cpts_id).distinct())).all():
        await mark_dirty(session, cpts_id)
    await session.flush()
    outcome = Outcome()
    while True:
        step = await evaluate_dirty(session, settings, limit=500)
        outcome.add(step)
        if await session.scalar(select(DirtyCpts.cpts_id).limit(1)) is None:
            return applied, outcome
