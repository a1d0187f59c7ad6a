"""The spending statement per conventional mission: a small CSV template, its validation and
the per-mission actual spending it yields.

Template (``data/spending_template.csv``): a header line, then one line per spending item::

    mission;nature;label;amount;document_ref;hours;persons
    prevention;staff;Chargée de prévention 0,5 ETP;21000,00;PAIE-2024;800;1

- separator ``;`` (French spreadsheets), ``,`` or TAB, detected from the header; quotes as in
  CSV; UTF-8 (a byte order mark is fine) or Latin-1;
- ``mission`` (required): ``access_to_care``, ``care_pathways``, ``prevention``,
  ``crisis_response``, ``quality_relevance``, ``professional_support``, ``functioning``,
  ``outside_missions`` (the kit's :class:`cpts_kit.missions.Mission`; French
  names such as ``accès aux soins`` or ``fonctionnement`` are accepted too);
- ``nature`` (optional): ``staff``, ``fees``, ``purchases``, ``rent``, ``travel``, ``events``,
  ``communication``, ``it``, ``training``, ``other`` (default ``other``);
- ``label`` (required), ``amount`` (required: a positive amount, decimal comma or point, at
  most two decimals, no thousands separator), ``document_ref`` (optional: the supporting
  document's reference);
- ``hours`` and ``persons`` (optional, on ``staff`` and ``fees`` lines): the hours paid and
  the number of persons the amount pays, which the audit holds against the national frame
  of remunerations (Senate proposal 10).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.resources import files
from typing import IO, Any

from cpts_documents.domain.fec import parse_cents, split_lines
from cpts_documents.domain.report import Report
from cpts_documents.domain.text import fold
from cpts_kit.missions import Mission

COLUMNS = ("mission", "nature", "label", "amount", "document_ref", "hours", "persons")
PAY_NATURES = ("staff", "fees")
REQUIRED_COLUMNS = ("mission", "label", "amount")
NATURES = ("staff", "fees", "purchases", "rent", "travel", "events", "communication", "it", "training", "other")
MISSION_ALIASES: dict[str, Mission] = {
    **{fold(m.value): m for m in Mission},
    "acces aux soins": Mission.ACCESS_TO_CARE,
    "parcours": Mission.CARE_PATHWAYS,
    "parcours pluriprofessionnels": Mission.CARE_PATHWAYS,
    "parcours de soins": Mission.CARE_PATHWAYS,
    "prevention": Mission.PREVENTION,
    "crise": Mission.CRISIS_RESPONSE,
    "crises sanitaires": Mission.CRISIS_RESPONSE,
    "reponse aux crises sanitaires": Mission.CRISIS_RESPONSE,
    "qualite et pertinence": Mission.QUALITY_RELEVANCE,
    "qualite pertinence": Mission.QUALITY_RELEVANCE,
    "accompagnement des professionnels": Mission.PROFESSIONAL_SUPPORT,
    "accompagnement professionnels": Mission.PROFESSIONAL_SUPPORT,
    "attractivite": Mission.PROFESSIONAL_SUPPORT,
    "fonctionnement": Mission.FUNCTIONING,
    "hors missions": Mission.OUTSIDE_MISSIONS,
    "hors mission": Mission.OUTSIDE_MISSIONS,
}


def template() -> str:
    """The CSV template with three example lines (``data/spending_template.csv``)."""
    return (files("cpts_documents.domain") / "data" / "spending_template.csv").read_text(encoding="utf-8")


@dataclass
class SpendingResult:
    report: Report
    by_mission: dict[Mission, int] = field(default_factory=lambda: dict.fromkeys(Mission, 0))
    by_nature: dict[str, int] = field(default_factory=dict)
    items: int = 0
    # Pay lines that say what they pay: {label, amount (cents), hours, persons}.
    remunerations: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        total = sum(self.by_mission.values())
        return {
            "by_mission": {m.value: _dec(c) for m, c in self.by_mission.items()},
            "by_nature": {n: _dec(c) for n, c in sorted(self.by_nature.items())},
            "total": _dec(total),
            "items": self.items,
            "remunerations": [{**r, "amount": _dec(r["amount"])} for r in self.remunerations],
        }


def _dec(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _decoded(stream: IO[bytes], report: Report) -> Iterator[str]:
    for number, raw in enumerate(split_lines(stream), start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            report.quirk(number, None, "W_LATIN1", "Text is not UTF-8; read as Latin-1")
            yield raw.decode("latin-1")


def _pay_basis(cells: dict[str, str], nature: str, number: int, report: Report) -> tuple[Decimal | None, int | None]:
    """The hours and persons a pay line says it pays (both optional)."""
    hours_text, persons_text = cells.get("hours", ""), cells.get("persons", "")
    if not hours_text and not persons_text:
        return None, None
    if nature not in PAY_NATURES:
        report.error(number, "hours", "S_PAY_BASIS_NATURE", f"hours and persons go on {' or '.join(PAY_NATURES)} lines")
        return None, None
    hours = persons = None
    if hours_text:
        cents, _ = parse_cents(hours_text)
        if cents is None or cents <= 0:
            report.error(number, "hours", "S_HOURS", f"{hours_text[:30]!r} is not a positive number of hours")
        else:
            hours = _dec(cents)
    if persons_text:
        if not (persons_text.isascii() and persons_text.isdigit()) or int(persons_text) == 0:
            report.error(number, "persons", "S_PERSONS", f"{persons_text[:30]!r} is not a positive whole number")
        else:
            persons = int(persons_text)
    return hours, persons


def validate_spending(stream: IO[bytes], *, max_listed: int = 1000) -> SpendingResult:
    report = Report(max_listed=max_listed)
    result = SpendingResult(report)
    lines = _decoded(stream, report)
    header = next(lines, "")
    delimiter = ";" if ";" in header else "\t" if "\t" in header else ","
    names = [fold(n).replace(" ", "_") for n in next(csv.reader([header], delimiter=delimiter), [])]
    while names and not names[-1]:
        names.pop()
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    for column in missing:
        report.error(1, column, "S_HEADER_MISSING", f"The column {column} is missing (template: {';'.join(COLUMNS)})")
    for name in names:
        if name not in COLUMNS:
            report.warning(1, name, "S_HEADER_EXTRA", f"Unknown column {name!r}; ignored")
    if missing:
        report.finish()
        return result
    index = {name: position for position, name in enumerate(names) if name in COLUMNS}
    for number, row in enumerate(csv.reader(lines, delimiter=delimiter), start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: (row[i].strip() if i < len(row) else "") for name, i in index.items()}
        mission = MISSION_ALIASES.get(fold(cells["mission"]))
        if mission is None:
            report.error(number, "mission", "S_MISSION", f"{cells['mission'][:40]!r} is not a mission of the template")
        nature = fold(cells.get("nature", "")).replace(" ", "_") or "other"
        if nature not in NATURES:
            report.error(number, "nature", "S_NATURE", f"{nature[:40]!r} is not one of {', '.join(NATURES)}")
        if not cells["label"]:
            report.error(number, "label", "S_REQUIRED", "label is mandatory and empty")
        cents, _ = parse_cents(cells["amount"])
        if cents is None:
            report.error(
                number,
                "amount",
                "S_AMOUNT_FORMAT",
                f"{cells['amount'][:30]!r} is not an amount (decimal comma or point, at most two decimals)",
            )
        elif cents <= 0:
            report.error(number, "amount", "S_AMOUNT_NOT_POSITIVE", "A spending amount is positive")
        hours, persons = _pay_basis(cells, nature, number, report)
        if cents is not None and cents > 0 and mission is not None:
            result.by_mission[mission] += cents
            result.by_nature[nature] = result.by_nature.get(nature, 0) + cents
            result.items += 1
            if hours is not None or persons is not None:
                result.remunerations.append(
                    {"label": cells["label"], "amount": cents, "hours": hours, "persons": persons}
                )
    if result.items == 0 and not report.error_count:
        report.error(2, None, "S_EMPTY", "The statement has no spending line")
    report.finish()
    return result
