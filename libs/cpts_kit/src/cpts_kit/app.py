"""Wires the kit into a service's FastAPI app: errors, auth, metrics, logs, health, outbox
relay and event consumers, started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cpts_kit.auth import TokenVerifier
from cpts_kit.db import Database
from cpts_kit.health import router as health_router
from cpts_kit.inbox import EventConsumer
from cpts_kit.logs import configure_logging, install_request_ids
from cpts_kit.metrics import install_http_metrics
from cpts_kit.outbox import OutboxRelay
from cpts_kit.problems import PROBLEM_JSON, install_problem_handlers
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

ConsumerFactory = Callable[[Database, ServiceSettings], Sequence[EventConsumer]]
# A periodic job of the service (an overdue check...): runs until ``stop`` is set.
BackgroundTask = Callable[[Database, asyncio.Event], Coroutine[Any, Any, None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    version: str,
    routers: Sequence[APIRouter],
    consumers: ConsumerFactory | None = None,
    tasks: Sequence[BackgroundTask] = (),
    background: bool = True,
) -> FastAPI:
    """``background=False`` runs neither the relay, nor consumers, nor tasks (contract export,
    tests of the API alone)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        app.state.db = db
        app.state.relay = OutboxRelay(db, settings)
        app.state.consumers = list(consumers(db, settings)) if consumers else []
        stop = asyncio.Event()
        running: list[asyncio.Task[Any]] = []
        if background:
            running.append(asyncio.create_task(app.state.relay.run(stop), name="outbox-relay"))
            running += [asyncio.create_task(c.run(stop), name=f"consumer-{c.group_id}") for c in app.state.consumers]
            running += [asyncio.create_task(job(db, stop), name=getattr(job, "__name__", "job")) for job in tasks]
        try:
            yield
        finally:
            stop.set()
            if running:
                _, pending = await asyncio.wait(running, timeout=10)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            await db.dispose()

    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    install_problem_handlers(app)
    install_http_metrics(app, settings.service_name)
    install_request_ids(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health_router)
    for router in routers:
        app.include_router(router)
    return app


class BodySizeLimit:
    """Refuses bodies over ``max_bytes`` with a 413 problem, before the app reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except Exception as exc:
            # Middlewares built on BaseHTTPMiddleware read the body in a task group, which
            # wraps our signal in an ExceptionGroup.
            too_large = isinstance(exc, _TooLarge) or (
                isinstance(exc, BaseExceptionGroup) and exc.subgroup(_TooLarge) is not None
            )
            if not too_large:
                raise
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        import json

        body = json.dumps(
            {
                "type": "/problems/payload-too-large",
                "title": "Payload too large",
                "status": 413,
                "detail": f"The request body is larger than {self.max_bytes} bytes",
                "instance": scope.get("path", ""),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
