"""Helpers of the registry tests (a module name unique across the repository)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cpts_kit.auth import issue_dev_token
from cpts_registry.settings import RegistrySettings

# Three real communes of Corse-du-Sud (INSEE codes and populations of the vendored data).
AJACCIO, ALATA, AFA = "2A004", "2A006", "2A001"


@dataclass
class Api:
    client: httpx.AsyncClient
    settings: RegistrySettings

    def headers(self, role: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_dev_token(self.settings, role=role, **claims)}

    async def call(
        self, method: str, url: str, role: str = "cnam", claims: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.headers(role, **(claims or {})), **kwargs.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kwargs)


def make_settings(database_url: str, state_dir: Path, bootstrap: str = "127.0.0.1:1") -> RegistrySettings:
    return RegistrySettings(
        database_url=database_url,
        state_dir=state_dir,
        kafka_bootstrap=bootstrap,
        relay_interval_seconds=0.1,
        broker_check_interval_seconds=1.0,
        kafka_request_timeout_ms=3000,
        relay_max_backoff_seconds=1.0,
        log_json=False,
    )


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
