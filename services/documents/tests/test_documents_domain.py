"""Smaller rules in plain Python: content sniffing, the spending template, blob keys and the
S3 request signature, the registry projection's tolerant reader."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from documents_helpers import CORSE_ID, SPENDING, registered, registry_event

from cpts_documents.domain.sniffing import Format, Limits, Refused, inspect, magic_format
from cpts_documents.domain.spending import template, validate_spending
from cpts_documents.domain.types import DocumentType
from cpts_documents.events.registry import apply_registry_event
from cpts_documents.service import spec
from cpts_documents.storage.blobs import LocalBlobStore, check_key
from cpts_documents.storage.models import CptsProjection
from cpts_kit.db import Database
from cpts_kit.missions import Mission
from cpts_kit.service import upgrade


def test_magic_numbers() -> None:
    assert magic_format(b"%PDF-1.4") is Format.PDF
    assert magic_format(b"PK\x03\x04rest") is Format.ZIP
    assert magic_format(b"\x89PNG\r\n\x1a\n") is Format.PNG
    assert magic_format(b"JournalCode\tJournalLib\n") is Format.TEXT
    assert magic_format("Journal é".encode("latin-1")) is Format.TEXT
    assert magic_format(b"\x7fELF\x02\x01") is Format.BINARY


def test_line_length_is_checked_across_chunk_boundaries() -> None:
    limits = Limits(max_line_bytes=100)
    ok = (b"a" * 99 + b"\r\n") * 30_000
    assert inspect(io.BytesIO(ok), DocumentType.FEC, limits).format is Format.TEXT
    with pytest.raises(Refused) as refused:
        inspect(io.BytesIO(ok + b"b" * 101), DocumentType.FEC, limits)
    assert refused.value.code == "line_too_long"


def test_the_spending_template_validates_and_sums_by_mission() -> None:
    result = validate_spending(io.BytesIO(template().encode()))
    assert result.report.verdict.value == "accepted"
    assert result.by_mission[Mission.ACCESS_TO_CARE] == 1_560_000 and result.items == 3
    latin = validate_spending(io.BytesIO(SPENDING.decode().encode("latin-1")))
    assert latin.report.verdict.value == "accepted_with_warnings"
    assert latin.by_mission[Mission.PREVENTION] == 250_000
    comma = validate_spending(io.BytesIO(b'mission,label,amount\nprevention,"Affiches, flyers",12.50\n'))
    assert comma.report.verdict.value == "accepted" and comma.by_mission[Mission.PREVENTION] == 1250
    missing = validate_spending(io.BytesIO(b"mission;amount\nprevention;1\n"))
    assert [e.code for e in missing.report.errors] == ["S_HEADER_MISSING"]
    negative = validate_spending(io.BytesIO(b"mission;label;amount\nprevention;x;-5,00\n"))
    assert "S_AMOUNT_NOT_POSITIVE" in {e.code for e in negative.report.errors}


def test_pay_lines_carry_their_hours_and_persons_for_the_audit() -> None:
    statement = (
        "mission;nature;label;amount;hours;persons\n"
        "access_to_care;staff;Coordinatrice 0,3 ETP;15600,00;480;1\n"
        "prevention;fees;Vacations médecin;9000,00;45,5;\n"
        "functioning;rent;Loyer;7200,00;;\n"
    ).encode()
    result = validate_spending(io.BytesIO(statement))
    assert result.report.verdict.value == "accepted" and result.items == 3
    assert result.as_dict()["remunerations"] == [
        {"label": "Coordinatrice 0,3 ETP", "amount": Decimal("15600.00"), "hours": Decimal("480.00"), "persons": 1},
        {"label": "Vacations médecin", "amount": Decimal("9000.00"), "hours": Decimal("45.50"), "persons": None},
    ]
    bad = validate_spending(
        io.BytesIO(
            b"mission;nature;label;amount;hours;persons\n"
            b"prevention;staff;x;100,00;-3;\n"
            b"prevention;staff;y;100,00;;zero\n"
            b"prevention;rent;z;100,00;10;\n"
        )
    )
    assert [(e.line, e.code) for e in bad.report.errors] == [
        (2, "S_HOURS"),
        (3, "S_PERSONS"),
        (4, "S_PAY_BASIS_NATURE"),
    ]
    # Digits that str.isdigit() accepts but int() refuses or a statement must not hold.
    odd = validate_spending(
        io.BytesIO(
            "mission;nature;label;amount;hours;persons\n"
            "prevention;staff;x;100,00;10;²\n"
            "prevention;staff;y;100,00;10;١\n"
            "prevention;staff;z;1²,00;10;1\n".encode()
        )
    )
    assert [(e.line, e.code) for e in odd.report.errors] == [(2, "S_PERSONS"), (3, "S_PERSONS"), (4, "S_AMOUNT_FORMAT")]


def test_blob_keys_never_come_from_outside() -> None:
    assert check_key("2024/0b6f5c2e-1d7a-4a57-9e53-3f2b8f3f9a10")
    for bad in ("../etc/passwd", "/abs", "a//b", "a/../b", "a b", ""):
        with pytest.raises(ValueError):
            check_key(bad)


async def test_the_local_store_moves_staged_files_into_place(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    handle, staged = store.staging_file()
    handle.write(b"bytes as received")
    handle.close()
    await store.put("2024/doc-1", staged, sha256="x", size=17)
    assert not staged.exists() and await store.exists("2024/doc-1")
    assert b"".join([c async for c in store.read("2024/doc-1")]) == b"bytes as received"
    await store.delete("2024/doc-1")
    assert not await store.exists("2024/doc-1")


async def test_the_projection_reads_registry_events_tolerantly(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"
    await upgrade(spec, url)
    db = Database(url)
    place = {"cpts_id": CORSE_ID, "region": "94", "departement": "2A"}
    events = [
        registered(
            CORSE_ID, region="94", departement="2A", name="CPTS A", aci_signed_on=None, status="intention_letter_signed"
        ),
        registry_event(
            "fr.cpts.registry.cpts.status_changed.v1",
            {
                **place,
                "from_status": "x",
                "to_status": "aci_signed",
                "effective_date": "2023-04-01",
                "reason": None,
                "aci_signed_on": "2023-04-01",
                "new": 1,
            },
        ),
        registry_event("fr.cpts.registry.members.reported.v1", {**place, "year": 2024, "counts": {}, "total": 0}),
        registry_event("fr.cpts.registry.something.new.v1", {**place}),
        registry_event("fr.cpts.registry.cpts.updated.v2", {**place, "name": "ignored"}),
    ]
    async with db.sessionmaker() as session:
        for event in events:
            await apply_registry_event(session, event)
        await session.commit()
        row = await session.get(CptsProjection, CORSE_ID)
        assert row is not None and row.name == "CPTS A" and row.status == "aci_signed"
        assert row.aci_signed_on == dt.date(2023, 4, 1) and row.status_since == dt.date(2023, 4, 1)
    await db.dispose()
