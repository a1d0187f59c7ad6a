"""Liveness (process up) and readiness (database and broker reachable)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cpts_kit.broker import broker_reachable

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database and broker reachable", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await request.app.state.db.ping()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"error: {exc.__class__.__name__}"
    bootstrap = request.app.state.settings.kafka_bootstrap
    checks["broker"] = "ok" if await broker_reachable(bootstrap) else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )
