"""The S3 blob store against a real S3-compatible server (moto's, started by the test on a free
port, checking every signature): put, read, exists and delete, and a wrong secret refused.
(moto checks signatures, not payload hashes: the hash given to ``put`` is the upload's own.)"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto import settings as moto_settings
from moto.core.responses import ActionAuthenticatorMixin
from moto.server import ThreadedMotoServer

from cpts_documents.settings import DocumentsSettings
from cpts_documents.storage.blobs import S3BlobStore
from cpts_kit.broker import free_port

BUCKET = "cpts-documents"
S3_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    """A moto server that authenticates every request after the four that create an IAM user
    allowed to use S3 and its access key; yields (endpoint, access key, secret key)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()  # its state is process-wide
        monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 4)
        monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
        iam = boto3.client(
            "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        iam.create_user(UserName="documents")
        policy = iam.create_policy(PolicyName="s3-all", PolicyDocument=json.dumps(S3_ALL))
        iam.attach_user_policy(UserName="documents", PolicyArn=policy["Policy"]["Arn"])
        key = iam.create_access_key(UserName="documents")["AccessKey"]
        access, secret = key["AccessKeyId"], key["SecretAccessKey"]
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=access, aws_secret_access_key=secret
        )
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, access, secret
    finally:
        server.stop()


def _store(tmp_path: Path, endpoint: str, access: str, secret: str) -> S3BlobStore:
    settings = DocumentsSettings(
        state_dir=tmp_path,
        embedded=True,
        blob_backend="s3",
        s3_endpoint=endpoint,
        s3_bucket=BUCKET,
        s3_access_key=access,
        s3_secret_key=secret,
    )
    return S3BlobStore(settings)


def _staged(store: S3BlobStore, content: bytes) -> tuple[Path, str]:
    handle, path = store.staging_file()
    with handle:
        handle.write(content)
    return path, hashlib.sha256(content).hexdigest()


async def test_put_read_exists_delete_on_a_real_s3_server(tmp_path: Path, s3: tuple[str, str, str]) -> None:
    store = _store(tmp_path, *s3)
    content = b"JournalCode\tJournalLib\n" * 100_000 + bytes(range(256))  # 2.3 MB, several chunks
    path, sha256 = _staged(store, content)
    key = "cpts-1/2024/doc-1"
    await store.put(key, path, sha256=sha256, size=len(content))
    assert not path.exists()  # the staged file was consumed
    assert await store.exists(key)
    assert b"".join([chunk async for chunk in store.read(key)]) == content
    assert not await store.exists("cpts-1/2024/doc-2")
    await store.delete(key)
    assert not await store.exists(key)
    await store.delete(key)  # deleting what is gone is fine


async def test_a_request_signed_with_a_wrong_secret_is_refused_by_the_server(
    tmp_path: Path, s3: tuple[str, str, str]
) -> None:
    endpoint, access, secret = s3
    wrong = _store(tmp_path, endpoint, access, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    path, sha256 = _staged(wrong, b"bilan")
    with pytest.raises(OSError, match="403"):
        await wrong.put("cpts-1/2024/doc-1", path, sha256=sha256, size=5)
    assert path.exists()  # kept for a retry
    store = _store(tmp_path, endpoint, access, secret)
    assert not await store.exists("cpts-1/2024/doc-1")
    await store.put("cpts-1/2024/doc-1", path, sha256=sha256, size=5)
    assert await store.exists("cpts-1/2024/doc-1")
    with pytest.raises(OSError, match="403"):
        await anext(wrong.read("cpts-1/2024/doc-1"))
