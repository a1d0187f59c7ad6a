"""Where the raw bytes live, behind a small interface: a local folder (the default) or an
S3-compatible object store (path-style requests, AWS Signature V4, with ``httpx``).

Keys are made by the service (``<cpts id>/<fiscal year>/<document id>``), never from a file
name, and checked against a strict pattern. An upload is first written to a staging file; the
store then moves it into place (a rename on the same filesystem for the local store, so a
reader never sees half a file) only once every check has passed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from cpts_documents.settings import DocumentsSettings

CHUNK = 1 << 20
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*$")


def check_key(key: str) -> str:
    if not _KEY.match(key) or len(key) > 300:
        raise ValueError(f"invalid blob key {key[:80]!r}")
    return key


class BlobStore(Protocol):
    def staging_file(self) -> tuple[IO[bytes], Path]:
        """A new, empty staging file (opened for writing) and its path."""
        ...

    async def put(self, key: str, staged: Path, *, sha256: str, size: int) -> None:
        """Keep the staged file's bytes under ``key`` (the staged file is consumed)."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The bytes, in chunks."""
        ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / ".staging"

    def staging_file(self) -> tuple[IO[bytes], Path]:
        self.staging.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=self.staging, prefix="upload-", delete=False)  # noqa: SIM115
        return handle, Path(handle.name)

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, staged: Path, *, sha256: str, size: int) -> None:
        target = self.path_of(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            with staged.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(staged, target)
            directory = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

        await asyncio.to_thread(move)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path_of(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_of(key).unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)


class S3BlobStore:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph RGW, Garage...), path-style addressing."""

    def __init__(self, settings: DocumentsSettings) -> None:
        self.endpoint = settings.s3_endpoint.rstrip("/")
        self.bucket = settings.s3_bucket
        self.region = settings.s3_region
        self.access_key = settings.s3_access_key
        self.secret_key = settings.s3_secret_key
        self.prefix = settings.s3_prefix
        self.staging = settings.state_dir / "documents-staging"
        if not (self.endpoint and self.bucket and self.access_key and self.secret_key):
            raise ValueError("the s3 blob backend needs s3_endpoint, s3_bucket, s3_access_key and s3_secret_key")

    def staging_file(self) -> tuple[IO[bytes], Path]:
        self.staging.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=self.staging, prefix="upload-", delete=False)  # noqa: SIM115
        return handle, Path(handle.name)

    def url_of(self, key: str) -> str:
        return f"{self.endpoint}/{self.bucket}/{self.prefix}{check_key(key)}"

    def _headers(self, method: str, url: str, payload_sha256: str) -> dict[str, str]:
        return sign_v4(
            method,
            url,
            {},
            payload_sha256,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            now=dt.datetime.now(dt.UTC),
        )

    async def put(self, key: str, staged: Path, *, sha256: str, size: int) -> None:
        url = self.url_of(key)
        headers = self._headers("PUT", url, sha256)
        headers["content-length"] = str(size)

        async def body() -> AsyncIterator[bytes]:
            handle = await asyncio.to_thread(staged.open, "rb")
            try:
                while chunk := await asyncio.to_thread(handle.read, CHUNK):
                    yield chunk
            finally:
                handle.close()

        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.put(url, content=body(), headers=headers)
        if answer.status_code >= 300:
            raise OSError(f"S3 PUT {key} answered {answer.status_code}: {answer.text[:200]}")
        await asyncio.to_thread(staged.unlink, True)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        url = self.url_of(key)
        headers = self._headers("GET", url, EMPTY_SHA256)
        async with httpx.AsyncClient(timeout=60) as client, client.stream("GET", url, headers=headers) as answer:
            if answer.status_code >= 300:
                raise OSError(f"S3 GET {key} answered {answer.status_code}")
            async for chunk in answer.aiter_bytes(CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        url = self.url_of(key)
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.delete(url, headers=self._headers("DELETE", url, EMPTY_SHA256))
        if answer.status_code >= 300 and answer.status_code != 404:
            raise OSError(f"S3 DELETE {key} answered {answer.status_code}")

    async def exists(self, key: str) -> bool:
        url = self.url_of(key)
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.head(url, headers=self._headers("HEAD", url, EMPTY_SHA256))
        return answer.status_code == 200


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def sign_v4(
    method: str,
    url: str,
    headers: dict[str, str],
    payload_sha256: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    now: dt.datetime,
    service: str = "s3",
) -> dict[str, str]:
    """The request's headers with AWS Signature Version 4 (``Authorization``, ``x-amz-date``,
    ``x-amz-content-sha256``, ``host``)."""
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    signed = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    signed["x-amz-content-sha256"] = payload_sha256
    names = sorted(signed)
    pairs = sorted(parse_qsl(parts.query, keep_blank_values=True))
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/-_.~"),
            query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {**headers, "x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256, "host": parts.netloc}
    out["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


def make_blob_store(settings: DocumentsSettings) -> BlobStore:
    if settings.blob_backend == "s3":
        return S3BlobStore(settings)
    return LocalBlobStore(settings.blob_root)
