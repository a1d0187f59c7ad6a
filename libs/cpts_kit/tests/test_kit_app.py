"""The service app's HTTP layer on a tiny app made with ``create_service_app``: the body gate (token
before any body, JSON and upload limits), request ids and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, Request, Response
from kit_helpers import make_settings
from pydantic import BaseModel

from cpts_kit.app import create_service_app, streamed_upload
from cpts_kit.auth import Principal, current_principal, issue_dev_token

LIMIT = 1000
UPLOAD_LIMIT = 5000

router = APIRouter()
received: list[bytes] = []


@router.post("/echo")
async def echo(request: Request) -> Response:
    body = await request.body()
    received.append(body)
    return Response(body, media_type="application/octet-stream")


class Note(BaseModel):
    text: str


@router.post("/v1/notes")
async def post_note(note: Note, caller: Annotated[Principal, Depends(current_principal)]) -> Note:
    received.append(note.text.encode())
    return note


@router.post("/v1/uploads")
@streamed_upload
async def upload(request: Request, caller: Annotated[Principal, Depends(current_principal)]) -> Response:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    received.append(b"%d" % size)
    return Response(str(size))


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    received.clear()
    settings = make_settings(tmp_path, max_body_bytes=LIMIT, max_upload_bytes=UPLOAD_LIMIT)
    app = create_service_app(
        settings, title="kit test", description="echo", version="0.0.0", routers=[router], background=False
    )
    # As a real server would: an error in the app becomes the 500 answer, not a client exception.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://kit") as c:
        c.headers["x-test-token"] = issue_dev_token(settings, role="cnam")
        yield c


class Counted:
    """A chunked body that counts the chunks the app pulled."""

    def __init__(self, count: int, size: int = 300) -> None:
        self.count, self.size, self.pulled = count, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.pulled += 1
            yield b" " * self.size


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


async def test_a_route_that_needs_a_token_reads_no_body_without_a_valid_one(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer forged"}, {"Authorization": "Token x"}):
        body = Counted(3)
        answer = await client.post("/v1/notes", content=body, headers={"Content-Type": "application/json", **headers})
        assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "/problems/unauthorized"
        assert answer.json()["request_id"] == answer.headers["x-request-id"]
        assert body.pulled == 0
    # Over the limit too: the token comes first.
    body = Counted(30)
    answer = await client.post("/v1/notes", content=body, headers={"Content-Length": "9000"})
    assert answer.status_code == 401 and body.pulled == 0
    assert received == []
    bearer = {"Authorization": f"Bearer {client.headers['x-test-token']}"}
    assert (await client.post("/v1/notes", json={"text": "hi"}, headers=bearer)).json() == {"text": "hi"}
    assert received == [b"hi"]


async def test_a_json_body_has_the_json_limit_and_an_upload_its_own(client: httpx.AsyncClient) -> None:
    bearer = {"Authorization": f"Bearer {client.headers['x-test-token']}"}
    streamed = Counted(10)  # 3000 bytes, chunked
    answer = await client.post("/v1/notes", content=streamed, headers={"Content-Type": "application/json", **bearer})
    assert answer.status_code == 413 and answer.json()["type"] == "/problems/payload-too-large"
    assert streamed.pulled <= 4  # stopped once past the limit
    declared = await client.post("/v1/notes", json={"text": "x" * LIMIT}, headers=bearer)
    assert declared.status_code == 413
    upload = await client.post("/v1/uploads", content=Counted(10), headers=bearer)
    assert upload.status_code == 200 and upload.text == "3000"
    too_big = await client.post("/v1/uploads", content=b"x" * (UPLOAD_LIMIT + 1), headers=bearer)
    assert (
        too_big.status_code == 413
        and too_big.json()["detail"] == f"The request body is larger than {UPLOAD_LIMIT} bytes"
    )
    assert received == [b"3000"]


async def test_request_ids_and_metrics_are_kept(client: httpx.AsyncClient) -> None:
    given = await client.get("/metrics", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/metrics", headers={"X-Request-ID": "not safe!"})
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "not safe!"
    await client.post("/echo", content=b"abc")
    text = (await client.get("/metrics")).text
    assert 'cpts_http_requests_total{method="POST",route="/echo",service="kittest",status="200"}' in text
    assert 'cpts_http_requests_total{method="GET",route="/metrics",service="kittest",status="200"}' in text
