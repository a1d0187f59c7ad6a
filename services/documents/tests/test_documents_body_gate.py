"""Bodies are only read for a caller whose token holds, and JSON bodies are capped at the
platform's limit while uploads keep their own (issue 8, hole 1: a 36 MB JSON sent with no token
used to be parsed, taking the process from 171 MB to 1 GB, before the 401)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from documents_helpers import CORSE_ID, PDF, Api

HUGE = 36_000_000
CHUNK = 1 << 20
PROBLEM = "application/problem+json"


class CountedBody:
    """A request body sent in 1 MB chunks that counts the chunks the service pulled."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, self.size, CHUNK):
            self.pulled += 1
            yield b" " * min(CHUNK, self.size - start)  # JSON whitespace


async def put_requirements(
    api: Api, body: CountedBody, headers: dict[str, str], declared: bool = True
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **headers}
    if declared:  # otherwise the body goes chunked, its length unknown until the end
        headers["Content-Length"] = str(body.size)
    answer = await api.client.put("/v1/requirements/2024", content=body, headers=headers)
    return {"status": answer.status_code, "type": answer.headers.get("content-type"), "json": answer.json()}


async def test_a_huge_json_with_no_token_answers_401_without_being_read(api: Api) -> None:
    before = (await api.call("GET", "/v1/requirements/2024")).json()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        for declared in (True, False):
            body = CountedBody(HUGE)
            answer = await put_requirements(api, body, headers, declared)
            assert answer["status"] == 401 and answer["type"] == PROBLEM, answer
            assert answer["json"]["type"] == "/problems/unauthorized" and answer["json"]["request_id"]
            assert body.pulled == 0, f"{body.pulled} MB of the body were read before the 401"
    assert (await api.call("GET", "/v1/requirements/2024")).json() == before


async def test_a_json_body_over_2_mb_is_refused_even_where_uploads_may_be_larger(api: Api) -> None:
    assert api.settings.max_body_bytes == 2_000_000 < api.settings.max_upload_bytes
    before = (await api.call("GET", "/v1/requirements/2024")).json()
    declared = CountedBody(3 * CHUNK)
    answer = await put_requirements(api, declared, api.headers("cnam"))
    assert answer["status"] == 413 and answer["type"] == PROBLEM, answer
    assert answer["json"]["type"] == "/problems/payload-too-large"
    assert declared.pulled == 0  # refused on its declared length
    streamed = CountedBody(HUGE)
    answer = await put_requirements(api, streamed, api.headers("cnam"), declared=False)
    assert answer["status"] == 413 and answer["json"]["type"] == "/problems/payload-too-large", answer
    assert streamed.pulled <= 3  # read up to the limit, not further
    assert (await api.call("GET", "/v1/requirements/2024")).json() == before


async def test_an_upload_may_be_larger_than_the_json_limit(api: Api) -> None:
    big_pdf = PDF + b"%" + b"x" * 3_000_000 + b"\n"
    answer = await api.upload(CORSE_ID, big_pdf, "supporting_document", filename="facture.pdf")
    assert answer.status_code == 201, answer.text
    assert answer.json()["size"] == len(big_pdf)
    raw = await api.upload(CORSE_ID, big_pdf + b"%2", "supporting_document", filename="facture2.pdf", raw=True)
    assert raw.status_code == 201, raw.text
