"""Hostile and malformed uploads: each refusal is a problem+json with its reason, and nothing
is half-stored (no file left in the store or its staging folder, no row, no event)."""

from __future__ import annotations

import io
import random
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from documents_helpers import CORSE_ID, PDF, VALID_FEC, Api

from cpts_documents.domain.sniffing import Limits, Refused, inspect
from cpts_documents.domain.types import DocumentType


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
BOMB = zipped({"fec.txt": b"0" * 30_000_000})  # 30 MB of zeros in ~30 kB
LONG_LINE = VALID_FEC + b"BQ\tBanque\t99\t" + b"x" * 20_000 + b"\n"

CASES = [
    ("pdf_declared_as_fec", PDF, "fec", {}, 422, "/problems/content-mismatch"),
    (
        "zip_declared_as_pdf_report",
        zipped({"a.txt": b"hello"}),
        "activity_report",
        {"financial_part": True},
        422,
        "/problems/content-mismatch",
    ),
    ("docx_declared_as_fec", DOCX, "fec", {}, 422, "/problems/content-mismatch"),
    (
        "fec_declared_as_balance_sheet_pdf_only_types",
        VALID_FEC,
        "activity_report",
        {"financial_part": False},
        422,
        "/problems/content-mismatch",
    ),
    ("executable", b"MZ\x90\x00\x03" + b"\x00" * 100, "supporting_document", {}, 422, "/problems/content-mismatch"),
    ("zip_bomb", BOMB, "fec", {}, 422, "/problems/zip-bomb"),
    ("over_long_line", LONG_LINE, "fec", {}, 422, "/problems/line-too-long"),
    ("nul_bytes_in_text", VALID_FEC * 3 + b"\x00" * 10 + b"\n", "fec", {}, 422, "/problems/binary-content"),
    ("zip_with_path_traversal", zipped({"../../etc/fec.txt": VALID_FEC}), "fec", {}, 422, "/problems/hostile-archive"),
    (
        "zip_with_two_files",
        zipped({"a.txt": VALID_FEC, "b.txt": VALID_FEC}),
        "fec",
        {},
        422,
        "/problems/content-mismatch",
    ),
    ("corrupt_zip", b"PK\x03\x04" + b"garbage" * 50, "fec", {}, 422, "/problems/corrupt-archive"),
    ("empty", b"", "fec", {}, 422, "/problems/empty-document"),
]


@pytest.mark.parametrize(
    ("name", "content", "doc_type", "fields", "status", "problem"), CASES, ids=[c[0] for c in CASES]
)
async def test_hostile_uploads_are_refused_and_leave_nothing(
    api: Api, name: str, content: bytes, doc_type: str, fields: dict[str, object], status: int, problem: str
) -> None:
    for raw in (False, True):
        answer = await api.upload(CORSE_ID, content, doc_type, raw=raw, filename="../../../etc/passwd", **fields)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["type"] == problem and body["detail"] and body["status"] == status
        assert await api.counts() == (0, 0, 0)
        staging = api.settings.blob_root / ".staging"
        assert not staging.exists() or not any(staging.iterdir())


async def test_a_document_over_the_size_limit_is_refused(api: Api) -> None:
    api.settings.max_document_bytes = 10_000
    answer = await api.upload(CORSE_ID, VALID_FEC * 10, raw=True)
    assert answer.status_code == 413 and answer.json()["type"] == "/problems/payload-too-large"
    answer = await api.upload(CORSE_ID, VALID_FEC * 10)
    assert answer.status_code == 413
    assert await api.counts() == (0, 0, 0)


async def test_a_zipped_fec_is_accepted_and_kept_as_sent(api: Api) -> None:
    archive = zipped({"732829320FEC20241231.txt": VALID_FEC})
    answer = await api.upload(CORSE_ID, archive, filename="fec.zip")
    assert answer.status_code == 201, answer.text
    assert answer.json()["media_type"] == "application/zip"
    assert answer.json()["validation"]["verdict"] == "accepted"
    content = await api.call("GET", f"/v1/documents/{answer.json()['id']}/content")
    assert content.content == archive


async def test_office_and_image_documents_are_recognised(api: Api) -> None:
    report = await api.upload(CORSE_ID, DOCX, "activity_report", financial_part=True, filename="rapport.docx")
    assert report.status_code == 201 and report.json()["format"] == "docx"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    receipt = await api.upload(CORSE_ID, png, "supporting_document", filename="ticket.png")
    assert receipt.status_code == 201 and receipt.json()["media_type"] == "image/png"


# -- hole 2: a member that inflates to hundreds of megabytes --------------------------------


def _deflate_bomb(head: bytes, blocks: int) -> tuple[bytes, int, int]:
    """A raw deflate stream of ``head`` then ``blocks`` times a megabyte that compresses about
    100:1 (under the ratio limit), built without compressing it all: each block is flushed with
    Z_FULL_FLUSH, which resets the history, so its compressed form repeats as is."""
    block = random.Random(1).randbytes(6_000) + bytes((1 << 20) - 6_000)
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = first + repeated * blocks + compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    return stream, crc, len(head) + blocks * len(block)


def bomb_archive(name: str, head: bytes, megabytes: int) -> bytes:
    """A zip holding one deflated member ``name`` (honest sizes and CRC in its headers)."""
    data, crc, size = _deflate_bomb(head, megabytes)
    encoded = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0, 0, 0, 0, 0, 0
    )
    directory_at = len(local) + len(encoded) + len(data)
    directory = central + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(directory), directory_at, 0)
    return local + encoded + data + directory + end


ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
MIMETYPE_BOMB = bomb_archive("mimetype", ODT_MIMETYPE, 400)  # ~4 MB that inflates to 400 MB


def test_the_bomb_is_what_the_issue_describes() -> None:
    assert 3_000_000 < len(MIMETYPE_BOMB) < 6_000_000
    with zipfile.ZipFile(io.BytesIO(MIMETYPE_BOMB)) as archive:
        (info,) = archive.infolist()
        assert info.file_size == len(ODT_MIMETYPE) + 400 * (1 << 20)
        assert info.file_size / info.compress_size < Limits().max_compression_ratio  # passes the ratio check
        with archive.open(info) as member:
            assert member.read(len(ODT_MIMETYPE)) == ODT_MIMETYPE


def test_a_mimetype_member_inflating_to_400_mb_is_sniffed_with_little_memory() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(Refused) as refused:
            inspect(io.BytesIO(MIMETYPE_BOMB), DocumentType.ACTIVITY_REPORT, Limits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.code == "content_mismatch"  # 100 bytes read: not an OpenDocument media type
    assert peak < 10_000_000, f"sniffing allocated {peak} bytes"


def test_a_zipped_fec_whose_member_lies_about_its_size_is_refused_at_the_cap() -> None:
    archive = bytearray(bomb_archive("fec.txt", VALID_FEC, 40))
    # Patch both headers to claim the member is only as long as the real FEC.
    small = struct.pack("<I", len(VALID_FEC))
    archive[22:26] = small
    directory_at = struct.unpack("<I", archive[-6:-2])[0]
    archive[directory_at + 24 : directory_at + 28] = small
    tracemalloc.start()
    try:
        with pytest.raises(Refused) as refused:
            inspect(io.BytesIO(bytes(archive)), DocumentType.FEC, Limits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.code in {"zip_bomb", "corrupt_archive"}
    assert peak < 10_000_000, f"sniffing allocated {peak} bytes"


async def test_the_mimetype_bomb_is_refused_over_http_and_leaves_nothing(api: Api) -> None:
    answer = await api.upload(CORSE_ID, MIMETYPE_BOMB, "activity_report", financial_part=True, filename="r.odt")
    assert answer.status_code == 422 and answer.json()["type"] == "/problems/content-mismatch"
    assert await api.counts() == (0, 0, 0)
