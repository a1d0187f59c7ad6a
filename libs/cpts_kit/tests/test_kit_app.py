"""The service app's body size limit, on a tiny app made with ``create_service_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Request, Response
from kit_helpers import make_settings

from cpts_kit.app import create_service_app

LIMIT = 1000

router = APIRouter()
received: list[bytes] = []


@router.post("/echo")
async def echo(request: Request) -> Response:
    body = await request.body()
    received.append(body)
    return Response(body, media_type="application/octet-stream")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    received.clear()
    settings = make_settings(tmp_path, max_body_bytes=LIMIT)
    app = create_service_app(
        settings, title="kit test", description="echo", version="0.0.0", routers=[router], background=False
    )
    # As a real server would: an error in the app becomes the 500 answer, not a client exception.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://kit") as c:
        yield c


def chunks(count: int, size: int = 300) -> AsyncIterator[bytes]:
    async def generate() -> AsyncIterator[bytes]:
        for i in range(count):
            yield bytes([65 + i]) * size

    return generate()


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, f"expected a 413 problem, got {response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "/problems/payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"The request body is larger than {LIMIT} bytes",
        "instance": "/echo",
        "request_id": response.headers["x-request-id"],
    }


async def test_a_chunked_body_over_the_limit_gets_a_413_problem(client: httpx.AsyncClient) -> None:
    """A streamed body (no Content-Length) is counted as it arrives and refused once past the
    limit, whoever reads it."""
    response = await client.post("/echo", content=chunks(5))  # 1500 bytes, length undeclared
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_too_large(response)
    assert received == []  # the endpoint never got it


async def test_a_chunked_body_up_to_the_limit_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content=chunks(3))
    assert response.status_code == 200
    assert response.content == b"A" * 300 + b"B" * 300 + b"C" * 300
    exactly = await client.post("/echo", content=chunks(4, size=LIMIT // 4))
    assert exactly.status_code == 200 and len(exactly.content) == LIMIT


async def test_a_declared_length_over_the_limit_gets_a_413_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content=b"x" * (LIMIT + 1))
    assert response.request.headers["content-length"] == str(LIMIT + 1)
    assert_too_large(response)
    assert received == []
    assert (await client.post("/echo", content=b"x" * LIMIT)).status_code == 200
