#!/usr/bin/env python3
"""Regenerate the vendored INSEE reference data of the registry service.

Source: the npm package ``@etalab/decoupage-administratif`` (code MIT, data
Licence Ouverte), pinned to a single version.  The package's JSON files are
reduced to three small, deterministic files:

* ``communes.csv.gz``  code,name,departement,region,population,parent
* ``departements.csv`` code,name,region
* ``regions.csv``      code,name

Communes of type ``commune-actuelle`` are kept, except Paris, Marseille and Lyon
(PLM), which are replaced by their ``arrondissement-municipal`` entries: CPTS in
those cities are organised by arrondissement.  ``parent`` holds the PLM commune
code for those arrondissements and is empty otherwise.  A commune without a
population gets 0.

Usage::

    python services/registry/scripts/vendor_insee.py                     # npm pack
    python services/registry/scripts/vendor_insee.py --package-dir DIR   # unpacked
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PACKAGE = "@etalab/decoupage-administratif"
VERSION = "6.0.0"
PLM = {"75056": "Paris", "13055": "Marseille", "69123": "Lyon"}
# The ACI and the CPTS exist in metropolitan France and the DROM; the COM (975, 977, 978,
# 984, 986-989) have their own social-security systems and are left out.
ZONES = ("metro", "drom")

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src" / "cpts_registry" / "refdata"


@contextmanager
def fetched_package() -> Iterator[Path]:
    """``npm pack`` the pinned version into a temp dir and unpack it there."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm not found: install it or pass --package-dir")
    with tempfile.TemporaryDirectory(prefix="vendor_insee_") as tmp:
        subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent"],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if len(tarballs) != 1:
            sys.exit(f"expected one tarball from npm pack, found {tarballs}")
        with tarfile.open(tarballs[0]) as tar:
            members = [
                m
                for m in tar.getmembers()
                if m.isfile() and m.name.startswith("package/") and ".." not in Path(m.name).parts
            ]
            tar.extractall(tmp, members=members, filter="data")
        yield Path(tmp) / "package"


def load_json(package_dir: Path, name: str) -> list[dict[str, Any]]:
    with (package_dir / "data" / name).open(encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, list):
        sys.exit(f"{name}: expected a JSON list")
    return data


def check_package(package_dir: Path) -> None:
    with (package_dir / "package.json").open(encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("name") != PACKAGE or meta.get("version") != VERSION:
        sys.exit(f"{package_dir}: found {meta.get('name')}@{meta.get('version')}, expected {PACKAGE}@{VERSION}")


def commune_rows(communes: list[dict[str, Any]]) -> list[list[str]]:
    rows: dict[str, list[str]] = {}

    def add(c: dict[str, Any], parent: str) -> None:
        code = c["code"]
        if code in rows:
            sys.exit(f"duplicate commune code {code}")
        rows[code] = [
            code,
            c["nom"],
            c["departement"],
            c["region"],
            str(int(c.get("population") or 0)),
            parent,
        ]

    for c in communes:
        if c.get("zone") not in ZONES:
            continue
        if c["type"] == "commune-actuelle" and c["code"] not in PLM:
            add(c, "")
        elif c["type"] == "arrondissement-municipal":
            parent = c.get("commune", "")
            if parent not in PLM:
                sys.exit(f"arrondissement {c['code']} has unexpected parent {parent!r}")
            add(c, parent)

    # Each PLM city must be fully replaced, and its population preserved.
    for plm in PLM:
        parents = [c for c in communes if c["code"] == plm and c["type"] == "commune-actuelle"]
        children = [r for r in rows.values() if r[5] == plm]
        if len(parents) != 1 or not children:
            sys.exit(f"PLM commune {plm}: parent or arrondissements missing")
        total = sum(int(r[4]) for r in children)
        expected = int(parents[0].get("population") or 0)
        if total != expected:
            print(
                f"warning: arrondissements of {plm} sum to {total}, commune says {expected}",
                file=sys.stderr,
            )
    return [rows[k] for k in sorted(rows)]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_gzip(path: Path, text: str) -> None:
    # mtime=0 and no file name in the header: byte-identical on every run.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(text.encode("utf-8"))


SOURCE_MD = """\
# INSEE reference data (vendored)

Generated by `services/registry/scripts/vendor_insee.py`; do not edit by hand.

## Origin

- npm package `{package}` version `{version}` ({repository}).
- Licences: code MIT; data Licence Ouverte (Etalab), as stated by the package.
- Vintage: the package README lists version {version} as the **{vintage}**
  millésime of the INSEE Code Officiel Géographique (communes, départements,
  régions). Populations are the INSEE populations légales the package ships
  (Mayotte: INSEE 2017 census figures, per the package README).

## What was kept

- `communes.csv.gz` — `code,name,departement,region,population,parent`, sorted
  by code. The communes of type `commune-actuelle` of metropolitan France and the
  DROM ({n_actuelles}; the COM, which the ACI does not cover, are left out),
  **except** the three PLM communes Paris 75056, Marseille 13055 and Lyon 69123,
  which are replaced by their `arrondissement-municipal` entries ({n_arr}:
  {arr_detail}); `parent` holds the PLM commune code for those, and is empty
  otherwise.
- Population: {n_missing} communes have none in the source and get 0
  ({missing}); {n_zero} more have 0 in the source ({zero}).
- Total: {n_rows} rows, population {pop:,} (metropolitan {pop_metro:,},
  DROM {pop_drom:,}).
- Dropped: communes déléguées/associées, postal codes, SIREN, EPCI.
- `departements.csv` — `code,name,region`, sorted by code ({n_dep} rows).
- `regions.csv` — `code,name`, sorted by code ({n_reg} rows).

## Regenerate

```
# fetches the pinned package with `npm pack`:
python services/registry/scripts/vendor_insee.py
# or from an unpacked package:
python services/registry/scripts/vendor_insee.py --package-dir DIR
```

The output is deterministic (sorted rows, gzip with mtime 0): rerunning on the
same package version changes no byte.
"""


def vintage(package_dir: Path) -> str:
    readme = package_dir / "README.md"
    if readme.exists():
        for line in readme.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2 and cells[1] == VERSION and cells[0].isdigit():
                return cells[0]
    return "unknown"


def vendor(package_dir: Path, out: Path) -> None:
    check_package(package_dir)
    communes = load_json(package_dir, "communes.json")
    departements = load_json(package_dir, "departements.json")
    regions = load_json(package_dir, "regions.json")

    rows = commune_rows(communes)
    dep_rows = sorted([d["code"], d["nom"], d["region"]] for d in departements if d.get("zone") in ZONES)
    reg_rows = sorted([r["code"], r["nom"]] for r in regions if r.get("zone") in ZONES)

    dep_codes = {d[0] for d in dep_rows}
    reg_codes = {r[0] for r in reg_rows}
    for r in rows:
        if r[2] not in dep_codes or r[3] not in reg_codes:
            sys.exit(f"commune {r[0]}: unknown département {r[2]} or région {r[3]}")
    for d in dep_rows:
        if d[2] not in reg_codes:
            sys.exit(f"département {d[0]}: unknown région {d[2]}")

    out.mkdir(parents=True, exist_ok=True)
    write_gzip(
        out / "communes.csv.gz",
        csv_text(["code", "name", "departement", "region", "population", "parent"], rows),
    )
    (out / "departements.csv").write_text(csv_text(["code", "name", "region"], dep_rows), encoding="utf-8", newline="")
    (out / "regions.csv").write_text(csv_text(["code", "name"], reg_rows), encoding="utf-8", newline="")

    with (package_dir / "package.json").open(encoding="utf-8") as f:
        repository = json.load(f).get("repository", "")
    arr_counts = {p: sum(1 for r in rows if r[5] == p) for p in PLM}
    no_pop = {
        c["code"]
        for c in communes
        if c["type"] in ("commune-actuelle", "arrondissement-municipal") and c.get("population") is None
    }
    missing = [r for r in rows if r[0] in no_pop]
    zero = [r for r in rows if r[4] == "0" and r[0] not in no_pop]
    zone_of = {
        c["code"]: c.get("zone", "") for c in communes if c["type"] in ("commune-actuelle", "arrondissement-municipal")
    }
    pop_by_zone = {z: sum(int(r[4]) for r in rows if zone_of[r[0]] == z) for z in ZONES}
    if sum(pop_by_zone.values()) != sum(int(r[4]) for r in rows):
        sys.exit(f"unexpected zones: {sorted(set(zone_of.values()))}")
    n_actuelles = sum(1 for c in communes if c["type"] == "commune-actuelle" and c.get("zone") in ZONES)
    (out / "SOURCE.md").write_text(
        SOURCE_MD.format(
            package=PACKAGE,
            version=VERSION,
            repository=repository,
            vintage=vintage(package_dir),
            n_actuelles=n_actuelles,
            n_arr=sum(arr_counts.values()),
            arr_detail=", ".join(f"{PLM[p]} {n}" for p, n in arr_counts.items()),
            n_missing=len(missing),
            missing=", ".join(f"{r[0]} {r[1]}" for r in missing) or "none",
            n_zero=len(zero),
            zero=", ".join(f"{r[0]} {r[1]}" for r in zero) or "none",
            n_rows=len(rows),
            pop=sum(int(r[4]) for r in rows),
            pop_metro=pop_by_zone["metro"],
            pop_drom=pop_by_zone["drom"],
            n_dep=len(dep_rows),
            n_reg=len(reg_rows),
        ),
        encoding="utf-8",
    )
    print(f"{len(rows)} communes, {len(dep_rows)} départements, {len(reg_rows)} régions -> {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--package-dir",
        type=Path,
        help=f"an unpacked {PACKAGE}@{VERSION} (the folder holding package.json); fetched with `npm pack` when omitted",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output folder (default {DEFAULT_OUT})",
    )
    args = parser.parse_args(argv)
    if args.package_dir is not None:
        vendor(args.package_dir, args.out)
    else:
        with fetched_package() as package_dir:
            vendor(package_dir, args.out)


if __name__ == "__main__":
    main()
