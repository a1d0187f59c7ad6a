"""FEC validation throughput and memory (a benchmark, not a test).

Generates a large, valid FEC (default 1,000,000 lines) in a temporary folder, then measures in
the same run:

- the reference: a plain ``csv.reader`` pass over the same file (TAB-separated), which only
  splits lines into fields;
- the documents service's streaming validation with the accounting summary.

Each pass runs in a fresh interpreter (``spawn``); it prints lines per second and the peak
resident memory (``resource.getrusage``, interpreter included) of both, and the ratios
service / reference, so that the figures compare across machines. The file is ~110 bytes a
line: a peak RSS far below the file size shows that nothing holds the file in memory.

    .venv/bin/python services/documents/bench/fec_throughput.py [--lines 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import resource
import tempfile
import time
from datetime import date, timedelta
from multiprocessing.queues import Queue
from pathlib import Path

from cpts_documents.domain.fec import COLUMNS, Period, validate_fec
from cpts_documents.domain.summary import AccountsSummariser

LABELS = ["Versement ACI CPAM", "Honoraires coordination", "Loyer local", "Fournitures bureau", "Salaire coordinatrice"]
PAIRS = [("512000", "740000"), ("622600", "401000"), ("613200", "512000"), ("606400", "401000"), ("641000", "421000")]


def generate(path: Path, lines: int, year: int = 2024) -> None:
    """A balanced FEC: two-line entries, dates spread over the year, TAB-separated, CRLF-free."""
    start = date(year, 1, 1)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\t".join(COLUMNS) + "\n")
        for entry in range(lines // 2):
            day = (start + timedelta(days=entry % 365)).strftime("%Y%m%d")
            kind = entry % len(PAIRS)
            debit_account, credit_account = PAIRS[kind]
            amount = f"{(entry * 37) % 100000 + 1},{entry % 100:02d}"
            label = LABELS[kind]
            common = f"BQ\tBanque\t{entry + 1}\t{day}"
            tail = f"\tP{entry + 1}\t{day}\t{label}"
            out.write(f"{common}\t{debit_account}\tCompte {debit_account}\t\t{tail}\t{amount}\t0,00\t\t\t{day}\t\t\n")
            out.write(f"{common}\t{credit_account}\tCompte {credit_account}\t\t{tail}\t0,00\t{amount}\t\t\t{day}\t\t\n")


def _child(kind: str, path: str, queue: Queue[tuple[float, int]]) -> None:
    """Runs in a fresh interpreter: the measured pass, then its time and peak resident memory."""
    run = reference if kind == "reference" else service
    began = time.perf_counter()
    run(Path(path))
    elapsed = time.perf_counter() - began
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))


def measure(kind: str, path: Path) -> tuple[float, int]:
    context = multiprocessing.get_context("spawn")
    queue: Queue[tuple[float, int]] = context.Queue()
    process = context.Process(target=_child, args=(kind, str(path), queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def reference(path: Path) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        for _ in csv.reader(handle, delimiter="\t"):
            pass


def service(path: Path) -> None:
    summariser = AccountsSummariser()
    with path.open("rb") as handle:
        report = validate_fec(handle, Period.calendar_year(2024), sink=summariser)
    assert report.verdict.value == "accepted", report.as_dict()
    summariser.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fec-bench-"))
    path = folder / "123456789FEC20241231.txt"
    began = time.perf_counter()
    generate(path, args.lines)
    size = path.stat().st_size
    print(f"generated {args.lines:,} lines ({size / 1e6:.1f} MB) in {time.perf_counter() - began:.1f}s: {path}")
    ref_time, ref_peak = measure("reference", path)
    svc_time, svc_peak = measure("service", path)
    ref_rate, svc_rate = args.lines / ref_time, args.lines / svc_time
    print(f"reference csv.reader : {ref_rate:12,.0f} lines/s  peak RSS {ref_peak / 1e6:8.1f} MB")
    print(f"validation + summary : {svc_rate:12,.0f} lines/s  peak RSS {svc_peak / 1e6:8.1f} MB")
    print(f"ratios (service / reference): speed {svc_rate / ref_rate:.2f}x, peak RSS {svc_peak / ref_peak:.2f}x")
    if not args.keep:
        path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
