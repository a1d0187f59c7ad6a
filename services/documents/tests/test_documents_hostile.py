"""Hostile and malformed uploads: each refusal is a problem+json with its reason, and nothing
is half-stored (no file left in the store or its staging folder, no row, no event)."""

from __future__ import annotations

import io
import zipfile

import pytest
from documents_helpers import CORSE_ID, PDF, VALID_FEC, Api


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
