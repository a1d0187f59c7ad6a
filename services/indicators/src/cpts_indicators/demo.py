"""Deterministic demo (filled below)."""

from __future__ import annotations

from cpts_kit.settings import ServiceSettings


async def load_demo(settings: ServiceSettings, seed: int = 2025) -> str:
    return "no demo yet"
