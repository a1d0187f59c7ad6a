"""FEC validation throughput and memory (a benchmark, not a test).

Generates a large, valid FEC (default 1,000,000 lines) in a temporary folder, then measures in
the same run, each pass in a fresh interpreter (``spawn``):

- the reference: a plain ``csv.reader`` pass over the same file (TAB-separated), which only
  splits lines into fields;
- the documents service's streaming validation with the accounting summary (the verdict must be
  ``accepted``);
- with ``--peer``: the PyPI package ``fec-parser`` (it reads the FEC into memory, then builds an
  income statement from a definition file), installed into this interpreter by the bench if
  missing (never a dependency of the services).

It prints lines per second, CPU time and the peak resident memory (``resource.getrusage``,
interpreter included) of each pass and the ratios service / reference and service / peer, so that the figures
compare across machines. Content is realistic: a few thousand accounts (suppliers, members,
funders), thousands of distinct labels, entries of two to four lines over the year.
``--distinct`` makes every entry use its own account, journal, label and validation date (the
worst case for caches and per-file structures); ``--lines`` at 1 M and 4 M shows whether memory
stays flat.

    .venv/bin/python bench/fec_throughput.py [--lines 1000000] [--peer] [--distinct] [--repeat 3] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import multiprocessing
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from multiprocessing.queues import Queue
from pathlib import Path

SUPPLIERS = ["Bureau Vallée", "Orange", "EDF", "Cabinet Lemoine", "Imprimerie du Centre", "OVH", "La Poste", "Adobe"]
TOWNS = ["Caen", "Lisieux", "Bayeux", "Vire", "Falaise", "Honfleur", "Deauville", "Condé-sur-Noireau"]
EXPENSES = [
    ("606400", "Fournitures de bureau"),
    ("613200", "Locations immobilières"),
    ("622600", "Honoraires"),
    ("623000", "Publicité"),
    ("625100", "Voyages et déplacements"),
    ("626000", "Frais postaux et télécommunications"),
    ("627000", "Services bancaires"),
    ("641000", "Rémunérations du personnel"),
    ("645100", "Cotisations URSSAF"),
    ("604000", "Achats de prestations"),
]
REVENUE = [
    ("740000", "Subventions d'exploitation", "Versement ACI CPAM"),
    ("741000", "Subventions de l'État", "Subvention FIR ARS"),
    ("744000", "Subventions des communes", "Subvention mairie de"),
    ("756000", "Cotisations", "Cotisation adhérent"),
    ("706000", "Prestations de services", "Formation"),
]
PEER_DEFINITION = """\
TOTAL_PRODUITS,,Total produits,,,,,
70,,Ventes et prestations,,TOTAL_PRODUITS,SOMME,,
74,,Subventions,,TOTAL_PRODUITS,SOMME,,
75,,Autres produits,,TOTAL_PRODUITS,SOMME,,
TOTAL_CHARGES,,Total charges,,,,,
60,,Achats,-,TOTAL_CHARGES,SOMME,,
61,,Services extérieurs,-,TOTAL_CHARGES,SOMME,,
62,,Autres services extérieurs,-,TOTAL_CHARGES,SOMME,,
64,,Charges de personnel,-,TOTAL_CHARGES,SOMME,,
"""


def generate(path: Path, lines: int, *, distinct: bool = False, year: int = 2024) -> None:
    """A balanced FEC of ``lines`` lines: entries of two to four lines, TAB-separated."""
    from cpts_documents.domain.fec import COLUMNS

    rnd = random.Random(2025)
    start = date(year, 1, 1)
    written = 0
    entry = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\t".join(COLUMNS) + "\n")
        while written < lines:
            entry += 1
            day = start + timedelta(days=rnd.randrange(366 if year % 4 == 0 else 365))
            text = day.strftime("%Y%m%d")
            valid = (day + timedelta(days=rnd.randrange(1, 60))).strftime("%Y%m%d")
            journal, journal_label = ("BQ", "Banque") if entry % 3 else ("AC", "Achats")
            if distinct:
                journal, journal_label = f"J{entry}", f"Journal {entry}"
                valid = (date(1950, 1, 1) + timedelta(days=entry % 50_000)).strftime("%Y%m%d")
            size = min(2 + rnd.randrange(3), lines - written)
            if size < 2:  # the file's last line: a one-line entry would be unbalanced
                size = 2
            cents = [rnd.randrange(100, 2_000_000) for _ in range(size - 1)]
            if entry % 4 == 0:
                account, account_label, label = REVENUE[entry % len(REVENUE)]
                label = f"{label} {TOWNS[entry % len(TOWNS)]} {entry % 1500}"
                rows = [("512000", "Banque Crédit Mutuel", sum(cents), 0)]
                rows += [(account, account_label, 0, c) for c in cents]
            else:
                supplier = SUPPLIERS[entry % len(SUPPLIERS)]
                aux = f"401{entry % 2500:05d}"
                label = f"Facture {supplier} {entry % 3000}"
                rows = []
                for c in cents:
                    account, account_label = EXPENSES[rnd.randrange(len(EXPENSES))]
                    rows.append((account, account_label, c, 0))
                rows.append((aux if not distinct else f"401{entry:07d}", f"Fournisseur {supplier}", 0, sum(cents)))
            if distinct:
                label = f"Pièce {entry} {label}"
            for account, account_label, debit, credit in rows:
                out.write(
                    f"{journal}\t{journal_label}\t{entry}\t{text}\t{account}\t{account_label}\t\t\t"
                    f"P{entry}\t{text}\t{label}\t{debit // 100},{debit % 100:02d}\t{credit // 100},{credit % 100:02d}"
                    f"\t\t\t{valid}\t\t\n"
                )
            written += len(rows)


Measured = tuple[float, float, int, str]  # wall-clock seconds, CPU seconds, peak RSS, outcome


def _child(kind: str, path: str, queue: Queue[Measured]) -> None:
    """Runs in a fresh interpreter: the measured pass, then its wall-clock and CPU times, peak
    RSS and outcome (the pass's modules are imported before the clocks start)."""
    run = {"reference": reference, "service": service, "peer": peer}[kind]
    if kind == "service":
        import cpts_documents.domain.fec
        import cpts_documents.domain.summary  # noqa: F401
    began, began_cpu = time.perf_counter(), time.process_time()
    outcome = run(Path(path))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    queue.put((elapsed, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, outcome))


def measure(kind: str, path: Path) -> Measured:
    context = multiprocessing.get_context("spawn")
    queue: Queue[Measured] = context.Queue()
    process = context.Process(target=_child, args=(kind, str(path), queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def reference(path: Path) -> str:
    count = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for _ in csv.reader(handle, delimiter="\t"):
            count += 1
    return f"{count} rows"


def service(path: Path) -> str:
    from cpts_documents.domain.fec import Period, validate_fec
    from cpts_documents.domain.summary import summariser_for

    period = Period.calendar_year(2024)
    summariser = summariser_for(period.start, period.end)
    with path.open("rb") as handle:
        report = validate_fec(handle, period, sink=summariser)
    summary = summariser.result()
    return f"{report.verdict.value}, revenue {summary['revenue_total']}, expenses {summary['expense_total']}"


def peer(path: Path) -> str:
    from fec_parser.analyzer import FECAnalyzer  # type: ignore[import-not-found]

    definition = path.with_suffix(".definition.csv")
    definition.write_text(PEER_DEFINITION, encoding="utf-8")
    analyzer = FECAnalyzer(pc_definition_filepath=str(definition))
    with path.open("rb") as handle:
        analyzer.parse(handle)
    rows = {row["internal_label"]: row["montant"] for row in analyzer.get_compte_resultat()}
    return f"revenue {rows['TOTAL_PRODUITS']}, expenses {rows['TOTAL_CHARGES']}"


def ensure_peer() -> None:
    """Install fec-parser into this interpreter (the bench's), never into the services."""
    if importlib.util.find_spec("fec_parser") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "fec-parser==1.0.1"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--peer", action="store_true", help="also measure the PyPI package fec-parser")
    parser.add_argument("--distinct", action="store_true", help="a distinct account, journal and label per entry")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument(
        "--repeat", type=int, default=1, help="alternate the passes N times and keep each one's best (noisy machines)"
    )
    args = parser.parse_args()
    if args.peer:
        ensure_peer()
    folder = Path(tempfile.mkdtemp(prefix="fec-bench-"))
    path = folder / "123456789FEC20241231.txt"
    began = time.perf_counter()
    # In a fresh interpreter too: on Linux a child's peak RSS starts from its parent's at the fork,
    # so this process stays small (it never imports the service, nor pyarrow: about 45 MB).
    context = multiprocessing.get_context("spawn")
    writer = context.Process(target=generate, args=(path, args.lines), kwargs={"distinct": args.distinct})
    writer.start()
    writer.join()
    size = path.stat().st_size
    kind = "distinct accounts, journals, labels" if args.distinct else "realistic content"
    print(f"generated {args.lines:,} lines ({size / 1e6:.1f} MB, {kind}) in {time.perf_counter() - began:.1f}s")
    kinds = ["reference", "service", "peer"] if args.peer else ["reference", "service"]
    results: dict[str, Measured] = {}
    for _ in range(max(1, args.repeat)):
        for kind in kinds:
            measured = measure(kind, path)
            if kind not in results or measured[0] < results[kind][0]:
                results[kind] = measured
    names = {"reference": "reference csv.reader", "service": "validation + summary", "peer": "fec-parser (peer)"}
    for name, (elapsed, cpu, peak, outcome) in results.items():
        rate = args.lines / elapsed
        print(f"{names[name]:21}: {rate:10,.0f} lines/s  CPU {cpu:6.2f} s  peak RSS {peak / 1e6:7.1f} MB  ({outcome})")
    # The wall-clock ratio is the target's; the CPU ratio moves less with the machine's load.
    svc_time, svc_cpu, svc_peak, _ = results["service"]
    ref_time, ref_cpu, ref_peak, _ = results["reference"]
    print(
        f"service / reference: speed {ref_time / svc_time:.2f}x (CPU {ref_cpu / svc_cpu:.2f}x), "
        f"peak RSS {svc_peak / ref_peak:.2f}x"
    )
    if args.peer:
        peer_time, peer_cpu, peer_peak, _ = results["peer"]
        print(
            f"service / fec-parser: speed {peer_time / svc_time:.2f}x (CPU {peer_cpu / svc_cpu:.2f}x), "
            f"peak RSS {svc_peak / peer_peak:.3f}x"
        )
    if not args.keep:
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    else:
        print(f"kept: {path}")


if __name__ == "__main__":
    main()
