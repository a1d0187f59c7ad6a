"""The README's "Access rules" shows every installed service's ACCESS table verbatim: the
documentation cannot drift from the code the routers and the access tests run."""

from __future__ import annotations

import importlib
from pathlib import Path

from cpts_kit.access import AccessTable
from cpts_kit.service import discover

README = Path(__file__).resolve().parents[2] / "README.md"


def _tables() -> dict[str, AccessTable]:
    tables: dict[str, AccessTable] = {}
    for spec in discover():
        module_name = f"cpts_{spec.name}.access"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name != module_name:
                raise
            continue  # a service still without its table (those shipped before issue 8)
        tables[spec.name] = module.ACCESS
    return tables


def test_the_readme_shows_every_access_table_verbatim() -> None:
    tables = _tables()
    assert {"registry", "documents"} <= set(tables)
    readme = README.read_text()
    section = readme[readme.index("## Access rules") :]
    for name, table in tables.items():
        assert table.service == name
        heading = f"### {name}\n\n"
        assert heading in section, f"README: no '### {name}' under Access rules"
        body = section[section.index(heading) + len(heading) :]
        assert body.startswith(table.markdown() + "\n"), f"README: the {name} table differs from {name}'s ACCESS"
