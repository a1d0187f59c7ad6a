"""The audit's demo (placeholder replaced below)."""

from __future__ import annotations

from cpts_kit.settings import ServiceSettings


async def load_demo(settings: ServiceSettings) -> str:
    return "no demo yet"
