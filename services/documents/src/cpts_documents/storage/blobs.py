"""Where the raw bytes live, behind a small interface: a local folder (the default) or an
S3-compatible object store (path-style requests over ``httpx``, streamed both ways, signed
with AWS Signature V4 by botocore, the AWS SDK's own signer; install ``cpts-documents[s3]``).

Keys are made by the service (``<cpts id>/<fiscal year>/<document id>``), never from a file
name, and checked against a strict pattern. An upload is first written to a staging file; the
store then moves it into place (a rename on the same filesystem for the local store, so a
reader never sees half a file) only once every check has passed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Protocol

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
        self._sign = _signer(self.access_key, self.secret_key, self.region)

    def staging_file(self) -> tuple[IO[bytes], Path]:
        self.staging.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=self.staging, prefix="upload-", delete=False)  # noqa: SIM115
        return handle, Path(handle.name)

    def url_of(self, key: str) -> str:
        return f"{self.endpoint}/{self.bucket}/{self.prefix}{check_key(key)}"

    def _headers(self, method: str, url: str, payload_sha256: str) -> dict[str, str]:
        return self._sign(method, url, payload_sha256)

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


def _signer(access_key: str, secret_key: str, region: str) -> Callable[[str, str, str], dict[str, str]]:
    """A function signing (method, url, payload SHA-256) with botocore's SigV4 for S3. The
    payload hash is given rather than computed: uploads are hashed while they are received."""
    try:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError("the s3 blob backend needs botocore: install cpts-documents[s3]") from exc

    credentials = Credentials(access_key, secret_key)

    class KnownPayload(S3SigV4Auth):  # type: ignore[misc]
        def __init__(self, payload_sha256: str) -> None:
            super().__init__(credentials, "s3", region)
            self.payload_sha256 = payload_sha256

        def payload(self, request: AWSRequest) -> str:
            return self.payload_sha256

    def sign(method: str, url: str, payload_sha256: str) -> dict[str, str]:
        request = AWSRequest(method=method, url=url)
        KnownPayload(payload_sha256).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}

    return sign


def make_blob_store(settings: DocumentsSettings) -> BlobStore:
    if settings.blob_backend == "s3":
        return S3BlobStore(settings)
    return LocalBlobStore(settings.blob_root)
