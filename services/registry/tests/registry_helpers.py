"""Helpers of the registry tests (a module name unique across the repository)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cpts_kit import testing
from cpts_kit.testing import UNREACHABLE, Api
from cpts_registry.settings import RegistrySettings

__all__ = ["AFA", "AJACCIO", "ALATA", "Api", "Registrar", "cpts_body", "make_settings"]

# Three real communes of Corse-du-Sud (INSEE codes and populations of the vendored data).
AJACCIO, ALATA, AFA = "2A004", "2A006", "2A001"


def make_settings(database_url: str, state_dir: Path, bootstrap: str = UNREACHABLE) -> RegistrySettings:
    return testing.make_settings(RegistrySettings, database_url, state_dir, bootstrap)


def cpts_body(siren: str = "732829320", **overrides: Any) -> dict[str, Any]:
    """A valid registration in Corse-du-Sud (732829320 is a Luhn-valid SIREN)."""
    body: dict[str, Any] = {
        "name": "CPTS du Pays Ajaccien",
        "siren": siren,
        "region": "94",
        "departement": "2A",
        "communes": [AJACCIO, ALATA],
        "intention_letter_signed_on": "2021-03-01",
    }
    body.update(overrides)
    return body


Registrar = Callable[..., Any]
