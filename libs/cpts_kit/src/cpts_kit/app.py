"""Wires the kit into a service's FastAPI app: errors, auth, metrics, logs, health, outbox
relay and event consumers, started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cpts_kit.auth import TokenVerifier, current_principal
from cpts_kit.db import Database
from cpts_kit.health import router as health_router
from cpts_kit.inbox import EventConsumer
from cpts_kit.logs import configure_logging, request_id_for, request_id_var
from cpts_kit.metrics import install_metrics_endpoint, observe_request
from cpts_kit.outbox import OutboxRelay
from cpts_kit.problems import Problem, install_problem_handlers, problem_response
from cpts_kit.readcache import ReadCache
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
        app.state.read_cache = ReadCache(db.writes, seconds=settings.read_cache_seconds)
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
    install_metrics_endpoint(app)
    app.add_middleware(
        ServiceLayer,
        service=settings.service_name,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        routers=routers,
    )
    app.include_router(health_router)
    for router in routers:
        app.include_router(router)
    return app


F = TypeVar("F", bound=Callable[..., Any])
_UPLOAD_MARK = "__cpts_streamed_upload__"


def streamed_upload(endpoint: F) -> F:
    """Marks an endpoint that streams its body to storage with its own size check: its
    requests may carry up to the service's ``max_upload_bytes`` instead of the JSON limit
    ``max_body_bytes``. Put it under the route decorator."""
    setattr(endpoint, _UPLOAD_MARK, True)
    return endpoint


@dataclass(frozen=True)
class _BodyPolicy:
    needs_token: bool
    max_bytes: int


class ServiceLayer:
    """The one HTTP middleware of a service, in plain ASGI (Starlette's ``BaseHTTPMiddleware``
    copies every request and response through a task group; stacked, they cost more than the
    endpoint): the request id, the request metrics, and the body gate.

    The body gate runs before anything reads a request body: when the route needs a bearer
    token, the token is verified first (FastAPI parses the body before it runs dependencies,
    so a 36 MB JSON would otherwise be parsed for a caller with no token); then a body larger
    than the route's limit is refused with 413, declared or streamed."""

    def __init__(
        self, app: ASGIApp, service: str, max_body_bytes: int, max_upload_bytes: int, routers: Sequence[APIRouter]
    ) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes
        # The routes of the service's routers (the kit includes them as they are).
        self.policies = [
            (
                route,
                _BodyPolicy(
                    needs_token=_needs_token(route.dependant),
                    max_bytes=max_upload_bytes if getattr(route.endpoint, _UPLOAD_MARK, False) else max_body_bytes,
                ),
            )
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = request_id_for(headers.get(b"x-request-id", b"").decode("latin-1"))
        scope.setdefault("state", {})["request_id"] = request_id
        context = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if b"content-length" in headers or b"transfer-encoding" in headers:
                await self._gate(scope, headers, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(context)
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            observe_request(self.service, path, scope["method"], status, time.perf_counter() - started)

    async def _gate(self, scope: Scope, headers: dict[bytes, bytes], receive: Receive, send: Send) -> None:
        policy = self._policy(scope)
        if policy.needs_token and (refusal := await self._authenticate(scope, headers)) is not None:
            await problem_response(Request(scope), refusal)(scope, receive, send)
            return
        limit = policy.max_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await problem_response(Request(scope), _too_large(limit))(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def watch_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watch_send)
        except _TooLarge:
            # Read outside FastAPI's handlers (which answer it as the HTTP exception it is).
            if started:
                raise
            await problem_response(Request(scope), _too_large(limit))(scope, receive, send)

    def _policy(self, scope: Scope) -> _BodyPolicy:
        """The body rules of the service route the request goes to (matched as the router
        will, once per request that carries a body); other paths need no token."""
        for route, policy in self.policies:
            if route.matches(scope)[0] is Match.FULL:
                return policy
        return _BodyPolicy(needs_token=False, max_bytes=self.max_body_bytes)

    async def _authenticate(self, scope: Scope, headers: dict[bytes, bytes]) -> Problem | None:
        scheme, _, credentials = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return Problem(
                401,
                "A bearer token is required",
                type_="/problems/unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="cpts"'},
            )
        verifier: TokenVerifier = scope["app"].state.verifier
        try:
            scope["state"]["principal"] = await verifier.verify(credentials.strip())
        except Problem as refusal:
            return refusal
        return None


def _needs_token(dependant: Dependant) -> bool:
    return any(dep.call is current_principal or _needs_token(dep) for dep in dependant.dependencies)


def _too_large(limit: int) -> Problem:
    return Problem(413, f"The request body is larger than {limit} bytes", type_="/problems/payload-too-large")


class _TooLarge(StarletteHTTPException):
    """Raised by the gate's ``receive`` once a streamed body passes the limit. An HTTP
    exception, so that FastAPI's body parsing passes it on as it is (it turns any other error
    into a 400) and the problem handlers answer 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")
