"""What a CPTS's accounting software would transmit for a fiscal year: its FEC (fichier des
écritures comptables, tab-separated, the 18 DGFiP columns) and its spending statement per
mission (the documents service's CSV template), generated from the money the funding service
says was received, plus the anomalies planted for the demo. Pure functions, no I/O.

Booking: every flow of the fiscal year is revenue of that year; a payment dated after the
year's end (a variable part paid at the next anniversary) is booked at 31 December as a grant
receivable (441), so the accounts match both what was paid and what was declared. Each funder
gets the account and label its accountant would use, so that the documents service's chart
classifies it (``Versement ACI CPAM`` on 740, ``Subvention FIR ARS`` on 740, ``Mécénat`` on 7542,
a laboratory's training on 706...). Expenses are 97 % of the revenue (staff, rent, fees...),
reserves three months of expenses: nothing for the audit to find unless planted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")
HEADER = (
    "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\tPieceRef\t"
    "PieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\tIdevise"
)

# Funding's category -> (account, account label, entry label) as the accountant books it.
BOOKING: dict[str, tuple[str, str, str]] = {
    "aci": ("740000", "Subventions d'exploitation", "Versement ACI CPAM"),
    "fir": ("740000", "Subventions d'exploitation", "Subvention FIR ARS"),
    "state": ("741000", "Subventions de l'État", "Subvention Etat DREETS"),
    "local_region": ("742000", "Subventions des régions", "Subvention Conseil régional"),
    "local_departement": ("743000", "Subventions des départements", "Subvention Conseil départemental"),
    "local_commune": ("744000", "Subventions des communes", "Subvention Mairie"),
    "local_intercommunality": ("744000", "Subventions des communes", "Subvention Communauté de communes"),
    "european_funds": ("746000", "Fonds européens", "Subvention FSE fonds européens"),
    "private_company": ("754200", "Mécénats", "Mécénat entreprise"),
    "pharma": ("706000", "Prestations de services", "Formation financée par"),
    "foundation": ("740000", "Subventions d'exploitation", "Subvention Fondation"),
    "own_resources": ("756000", "Cotisations", "Cotisations adhérents"),
}

# Expenses as shares of the revenue (97 % in all: a small surplus every year).
EXPENSES: tuple[tuple[str, str, str, Decimal], ...] = (
    ("641000", "Rémunérations du personnel", "Salaires coordination", Decimal("0.55")),
    ("645000", "Charges de sécurité sociale", "Charges sociales", Decimal("0.20")),
    ("613200", "Locations immobilières", "Loyer local", Decimal("0.08")),
    ("622600", "Honoraires", "Honoraires expert comptable", Decimal("0.07")),
    ("606400", "Fournitures administratives", "Fournitures de bureau", Decimal("0.04")),
    ("626000", "Frais postaux et télécommunications", "Abonnements téléphone internet", Decimal("0.03")),
)
EXPENSE_SHARE = sum((share for *_, share in EXPENSES), Decimal(0))


def amount(value: Decimal) -> str:
    return f"{value.quantize(CENT):.2f}".replace(".", ",")


@dataclass(frozen=True)
class Received:
    """Money of the fiscal year from one funding flow (recoveries negative)."""

    category: str
    funder_name: str
    mission: str
    amount: Decimal
    on: date


@dataclass
class Anomalies:
    """What the demo plants in a CPTS's year (see the audit README)."""

    laboratory: tuple[str, Decimal] | None = None  # undeclared: funder name, amount
    leisure: tuple[tuple[str, Decimal], ...] = ()  # labels and amounts (yoga, theatre)
    real_estate: Decimal | None = None  # premises bought with a loan
    reserve_months: Decimal | None = None  # opening reserves in months of expenses


Posting = tuple[str, str, Decimal, Decimal]  # account, account label, debit, credit


@dataclass
class Fec:
    """Entries are collected, then written in date order (entry numbers follow the dates)."""

    year: int
    entries: list[tuple[date, int, str, str, str, list[Posting], str]] = field(default_factory=list)

    def entry(self, journal: str, day: date, piece: str, label: str, postings: list[Posting], tag: str = "") -> None:
        debit = sum((d for _, _, d, _ in postings), Decimal(0))
        credit = sum((c for _, _, _, c in postings), Decimal(0))
        if debit != credit:
            raise ValueError(f"unbalanced entry {label}: {debit} != {credit}")
        self.entries.append((day, len(self.entries), journal, piece, label, postings, tag))

    def render(self) -> tuple[bytes, dict[str, list[int]]]:
        """The file, and the line numbers (1-based, header included) of the tagged entries."""
        names = {"AN": "A nouveaux", "BQ": "Banque", "OD": "Operations diverses"}
        valid = f"{self.year + 1}0115"
        lines = [HEADER]
        tagged: dict[str, list[int]] = defaultdict(list)
        for number, (day, _, journal, piece, label, postings, tag) in enumerate(sorted(self.entries), start=1):
            for position, (account, account_label, d, c) in enumerate(postings):
                if tag and position == next(i for i, p in enumerate(postings) if not p[0].startswith("512")):
                    tagged[tag].append(len(lines) + 1)  # the line the documents service flags
                when = day.strftime("%Y%m%d")
                lines.append(
                    "\t".join(
                        [journal, names[journal], str(number), when, account, account_label, "", "", piece, when,
                         label, amount(d), amount(c), "", "", valid, "", ""]
                    )
                )  # fmt: skip
        return ("\n".join(lines) + "\n").encode(), dict(tagged)


@dataclass(frozen=True)
class Transmission:
    fec: bytes
    spent: Decimal  # what the spending statement splits by mission
    revenue: Decimal
    expenses: Decimal
    planted_lines: dict[str, list[int]]  # anomaly -> FEC line numbers


def _day(year: int, on: date) -> tuple[date, bool]:
    """The booking day in the fiscal year, and whether it is a receivable (paid later)."""
    if on.year > year:
        return date(year, 12, 31), True
    if on.year < year:
        return date(year, 1, 1), False
    return on, False


def build(
    year: int, received: list[Received], own_fees: Decimal, anomalies: Anomalies, funder_suffix: str
) -> Transmission:
    revenue = sum((r.amount for r in received), Decimal(0)) + own_fees
    if anomalies.laboratory:
        revenue += anomalies.laboratory[1]
    expenses = (revenue * EXPENSE_SHARE).quantize(CENT, rounding=ROUND_DOWN)
    months = anomalies.reserve_months or Decimal(3)
    reserves = (expenses / 12 * months).quantize(CENT)
    fec = Fec(year)
    start = date(year, 1, 1)
    fec.entry("AN", start, f"AN{year}", f"Reprise des soldes {year - 1}", [
        ("512000", "Banque", reserves, Decimal(0)),
        ("106800", "Réserves pour projets", Decimal(0), reserves),
    ])  # fmt: skip
    for number, item in enumerate(sorted(received, key=lambda r: (r.on, r.category, r.amount)), start=1):
        account, account_label, label = BOOKING[item.category]
        day, receivable = _day(year, item.on)
        # Public funders by their kind and the département (a place name could hold a keyword of
        # another funder, such as Ars-en-Ré); private ones by name, as P12 wants them named.
        named = item.category in ("private_company", "foundation")
        text = f"{label} {item.funder_name if named else funder_suffix}".strip()
        if item.category == "pharma":  # the accountant names the laboratory
            name = item.funder_name if "laboratoire" in item.funder_name.lower() else f"Laboratoire {item.funder_name}"
            text = f"{label} {name}"
        other = ("441000", "Subventions à recevoir") if receivable else ("512000", "Banque")
        if item.amount >= 0:
            postings = [
                (other[0], other[1], item.amount, Decimal(0)),
                (account, account_label, Decimal(0), item.amount),
            ]
        else:
            text = f"Reversement {text}"
            postings = [
                (account, account_label, -item.amount, Decimal(0)),
                ("512000", "Banque", Decimal(0), -item.amount),
            ]
        fec.entry("OD" if receivable else "BQ", day, f"REC{number:04d}", text, postings)
    if own_fees > 0:
        fec.entry("BQ", date(year, 4, 1), f"COT{year}", f"Cotisations adhérents {year}", [
            ("512000", "Banque", own_fees, Decimal(0)),
            ("756000", "Cotisations", Decimal(0), own_fees),
        ])  # fmt: skip
    if anomalies.laboratory:
        name, value = anomalies.laboratory
        fec.entry("BQ", date(year, 5, 20), "VIRLAB", f"Formation financée par {name}", [
            ("512000", "Banque", value, Decimal(0)),
            ("706000", "Prestations de services", Decimal(0), value),
        ], "undeclared_laboratory")  # fmt: skip
    spent = Decimal(0)
    for month in range(1, 13):
        day = date(year, month, 28)
        for account, account_label, label, share in EXPENSES:
            value = (expenses * share / EXPENSE_SHARE / 12).quantize(CENT, rounding=ROUND_DOWN)
            if month == 12 and account == EXPENSES[0][0]:
                value = (
                    expenses
                    - spent
                    - sum(
                        (
                            (expenses * s / EXPENSE_SHARE / 12).quantize(CENT, rounding=ROUND_DOWN)
                            for *_, s in EXPENSES[1:]
                        ),
                        Decimal(0),
                    )
                )
            spent += value
            fec.entry("BQ", day, f"D{month:02d}{account[:3]}", f"{label} {month:02d}/{year}", [
                (account, account_label, value, Decimal(0)),
                ("512000", "Banque", Decimal(0), value),
            ])  # fmt: skip
    for label, value in anomalies.leisure:
        fec.entry("BQ", date(year, 9, 15), "FACLOI", label, [
            ("604000", "Achats de prestations", value, Decimal(0)),
            ("512000", "Banque", Decimal(0), value),
        ], "leisure_spending")  # fmt: skip
        expenses += value
    if anomalies.real_estate:
        value = anomalies.real_estate
        fec.entry("BQ", date(year, 10, 15), "ACTE1015", "Acquisition local professionnel", [
            ("213100", "Bâtiments", value, Decimal(0)),
            ("164000", "Emprunts auprès des établissements de crédit", Decimal(0), value),
        ], "real_estate_purchase")  # fmt: skip
    content, planted = fec.render()
    return Transmission(content, expenses, revenue, expenses, planted)


# The Senate found crisis management over-funded and prevention under-funded: the demo's CPTS
# spend a tenth of their crisis money and move the rest to prevention.
CRISIS_SPENT = Decimal("0.10")


STAFF_HOURLY_RATE = Decimal(45)


def spending_statement(year: int, expenses: Decimal, paid_by_mission: dict[str, Decimal]) -> bytes:
    """Actual spending per mission: the year's expenses split like the ACI money received,
    the crisis money mostly spent on prevention."""
    weights = {m: v for m, v in paid_by_mission.items() if v > 0 and m != "outside_missions"}
    total = sum(weights.values(), Decimal(0))
    if total <= 0:
        weights, total = {"functioning": Decimal(1)}, Decimal(1)
    split = {m: (expenses * v / total).quantize(CENT, rounding=ROUND_DOWN) for m, v in weights.items()}
    first = next(iter(split))
    split[first] += expenses - sum(split.values(), Decimal(0))
    crisis = split.get("crisis_response", Decimal(0))
    if crisis > 0:
        moved = (crisis * (1 - CRISIS_SPENT)).quantize(CENT)
        split["crisis_response"] = crisis - moved
        split["prevention"] = split.get("prevention", Decimal(0)) + moved
    rows = ["mission;nature;label;amount;document_ref;hours"]
    natures = {"functioning": "rent", "prevention": "events", "crisis_response": "other"}
    for mission, value in sorted(split.items()):
        if value > 0:
            nature = natures.get(mission, "staff")
            # Staff paid at about 45 € an hour, within the national frame the audit checks.
            hours = str(max(1, int(value / STAFF_HOURLY_RATE))) if nature == "staff" else ""
            rows.append(f"{mission};{nature};Dépenses {mission} {year};{amount(value)};ETAT-{year};{hours}")
    return ("\n".join(rows) + "\n").encode()
