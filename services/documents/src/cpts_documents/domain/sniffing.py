"""Content sniffing and hostile-input checks, on the bytes as received.

The declared type (``fec``, ``activity_report``...) is checked against what the bytes are, read
from their magic numbers and, for zip containers, their central directory, never from the
client's file name or Content-Type. A refusal raises :class:`Refused` with a stable code; the
caller then keeps nothing.

- Text (FEC, CSV): no NUL byte, almost no control character, no line longer than
  ``max_line_bytes`` (CR, LF and CRLF all end a line).
- Zip containers (a zipped FEC, DOCX/XLSX, ODT/ODS): at most ``max_zip_members`` members, no
  encryption, no member name that climbs out of its folder, a declared uncompressed total and a
  per-member compression ratio under the limits (zip bombs). A zipped FEC must hold exactly one
  text member, which is decompressed here with a hard cap whatever its header claims. Every
  other member is read only as far as sniffing needs (its first bytes, inflated on demand).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import IO

from cpts_documents.domain.types import DocumentType

CHUNK = 1 << 20
# An OpenDocument ``mimetype`` member holds one short media type: more is never read.
MIMETYPE_BYTES = 100


class Format(StrEnum):
    PDF = "pdf"
    TEXT = "text"
    ZIP = "zip"
    DOCX = "docx"
    XLSX = "xlsx"
    ODT = "odt"
    ODS = "ods"
    PNG = "png"
    JPEG = "jpeg"
    BINARY = "binary"


MEDIA_TYPES: dict[Format, str] = {
    Format.PDF: "application/pdf",
    Format.TEXT: "text/plain",
    Format.ZIP: "application/zip",
    Format.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.ODT: "application/vnd.oasis.opendocument.text",
    Format.ODS: "application/vnd.oasis.opendocument.spreadsheet",
    Format.PNG: "image/png",
    Format.JPEG: "image/jpeg",
    Format.BINARY: "application/octet-stream",
}

EXTENSIONS: dict[Format, str] = {
    Format.PDF: "pdf",
    Format.TEXT: "txt",
    Format.ZIP: "zip",
    Format.DOCX: "docx",
    Format.XLSX: "xlsx",
    Format.ODT: "odt",
    Format.ODS: "ods",
    Format.PNG: "png",
    Format.JPEG: "jpg",
    Format.BINARY: "bin",
}

# What each document type may be. A zip is a FEC only when it holds one text file.
ALLOWED: dict[DocumentType, frozenset[Format]] = {
    DocumentType.FEC: frozenset({Format.TEXT, Format.ZIP}),
    DocumentType.SPENDING_STATEMENT: frozenset({Format.TEXT}),
    DocumentType.INCOME_STATEMENT: frozenset({Format.PDF, Format.XLSX, Format.ODS, Format.TEXT}),
    DocumentType.BALANCE_SHEET: frozenset({Format.PDF, Format.XLSX, Format.ODS, Format.TEXT}),
    DocumentType.BUDGET: frozenset({Format.PDF, Format.XLSX, Format.ODS, Format.TEXT}),
    DocumentType.ACTIVITY_REPORT: frozenset({Format.PDF, Format.DOCX, Format.ODT}),
    DocumentType.SUPPORTING_DOCUMENT: frozenset(
        {Format.PDF, Format.PNG, Format.JPEG, Format.DOCX, Format.XLSX, Format.ODT, Format.ODS, Format.TEXT}
    ),
}

DESCRIPTIONS: dict[Format, str] = {
    Format.PDF: "a PDF document",
    Format.TEXT: "a text file",
    Format.ZIP: "a zip archive",
    Format.DOCX: "a Word document",
    Format.XLSX: "an Excel workbook",
    Format.ODT: "an OpenDocument text",
    Format.ODS: "an OpenDocument spreadsheet",
    Format.PNG: "a PNG image",
    Format.JPEG: "a JPEG image",
    Format.BINARY: "binary data of no accepted format",
}

# Bytes a text file may hold: printable ASCII, TAB, LF, CR, FF, and every byte >= 0x80
# (UTF-8 sequences or a single-byte Latin encoding).
_TEXT_BYTES = bytes([9, 10, 12, 13, *range(32, 127), *range(128, 256)])


@dataclass(frozen=True)
class Limits:
    max_line_bytes: int = 16_384
    max_zip_members: int = 2_000
    max_uncompressed_bytes: int = 500_000_000
    max_compression_ratio: int = 200
    max_control_ratio: float = 0.001


class Refused(Exception):
    """The bytes are refused before anything is kept."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Sniffed:
    format: Format
    media_type: str
    zip_member: str | None = None  # the text member of a zipped FEC


def magic_format(head: bytes) -> Format:
    if head.startswith(b"%PDF-"):
        return Format.PDF
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return Format.ZIP
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Format.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return Format.JPEG
    if not head or head.translate(None, _TEXT_BYTES):
        return Format.BINARY  # a NUL or control byte in the first kilobytes
    return Format.TEXT


def inspect(stream: IO[bytes], declared: DocumentType, limits: Limits) -> Sniffed:
    """What the (seekable) stream is; raises :class:`Refused` if it may not be kept as ``declared``."""
    stream.seek(0)
    head = stream.read(8192)
    if not head:
        raise Refused("empty_document", "The document is empty")
    fmt = magic_format(head)
    member: str | None = None
    if fmt is Format.ZIP:
        fmt, member = _inspect_zip(stream, declared, limits)
    elif fmt is Format.TEXT:
        stream.seek(0)
        check_text(_chunks(stream), limits)
    if fmt not in ALLOWED[declared]:
        allowed = ", ".join(sorted(DESCRIPTIONS[f] for f in ALLOWED[declared]))
        raise Refused(
            "content_mismatch",
            f"Declared as {declared.value} but the content is {DESCRIPTIONS[fmt]} (accepted: {allowed})",
        )
    stream.seek(0)
    return Sniffed(fmt, MEDIA_TYPES[fmt], member)


def check_text(chunks: Iterator[bytes], limits: Limits) -> int:
    """Scan text chunks: binary bytes and over-long lines are refused. Returns the byte count."""
    total = 0
    control = 0
    line = 0  # length of the line in progress
    for chunk in chunks:
        total += len(chunk)
        if b"\x00" in chunk:
            raise Refused("binary_content", "The file holds NUL bytes: it is not a text file")
        control += len(chunk.translate(None, _TEXT_BYTES))
        parts = chunk.replace(b"\r", b"\n").split(b"\n")
        if len(parts) == 1:
            line += len(parts[0])
        else:
            line += len(parts[0])
            longest = max(line, max(map(len, parts[1:-1]), default=0))
            if longest > limits.max_line_bytes:
                raise Refused("line_too_long", f"A line is longer than {limits.max_line_bytes} bytes")
            line = len(parts[-1])
        if line > limits.max_line_bytes:
            raise Refused("line_too_long", f"A line is longer than {limits.max_line_bytes} bytes")
    if total and control / total > limits.max_control_ratio:
        raise Refused("binary_content", "The file holds control characters: it is not a text file")
    return total


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _inspect_zip(stream: IO[bytes], declared: DocumentType, limits: Limits) -> tuple[Format, str | None]:
    stream.seek(0)
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Refused("corrupt_archive", f"The zip archive cannot be read: {exc}") from exc
    if len(infos) > limits.max_zip_members:
        raise Refused("zip_bomb", f"The archive holds {len(infos)} members (at most {limits.max_zip_members})")
    declared_total = 0
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
            raise Refused("hostile_archive", f"The archive member name {name[:80]!r} escapes its folder")
        if info.flag_bits & 0x1:
            raise Refused("encrypted_archive", "The archive is encrypted")
        declared_total += info.file_size
        if info.file_size > 1_000_000 and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1):
            raise Refused("zip_bomb", f"The archive member {name[:80]!r} expands more than the allowed ratio")
    if declared_total > limits.max_uncompressed_bytes:
        raise Refused("zip_bomb", f"The archive expands to more than {limits.max_uncompressed_bytes} bytes")
    names = {i.filename for i in infos}
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return Format.DOCX, None
        if "xl/workbook.xml" in names:
            return Format.XLSX, None
    if "mimetype" in names:
        kind = _member_head(archive, archive.getinfo("mimetype"), MIMETYPE_BYTES)
        if kind == b"application/vnd.oasis.opendocument.text":
            return Format.ODT, None
        if kind == b"application/vnd.oasis.opendocument.spreadsheet":
            return Format.ODS, None
    if declared is not DocumentType.FEC:
        return Format.ZIP, None
    files = [i for i in infos if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    if len(files) != 1:
        raise Refused("content_mismatch", f"A zipped FEC holds exactly one text file (found {len(files)} files)")
    member = files[0]
    if magic_format(_member_head(archive, member, 8192)) is not Format.TEXT:
        raise Refused("content_mismatch", "The file inside the zip archive is not a text file")
    cap = min(member.file_size, limits.max_uncompressed_bytes)
    with archive.open(member) as inner:
        size = check_text(_capped(inner, cap), limits)
    if size != member.file_size:
        raise Refused("corrupt_archive", "The archive member is not the size its header declares")
    return Format.ZIP, member.filename


def _member_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> bytes:
    """At most the first ``size`` decompressed bytes of a member (a bounded decompression:
    ``ZipExtFile.read(n)`` inflates only what it needs for ``n`` bytes); what lies past them,
    and whatever the header claims, is never inflated here."""
    try:
        with archive.open(info) as inner:
            return inner.read(size)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise Refused("corrupt_archive", f"The archive member cannot be decompressed: {exc}") from exc


def _capped(stream: IO[bytes], cap: int) -> Iterator[bytes]:
    """Decompressed chunks, refused past ``cap`` bytes whatever the header claimed."""
    seen = 0
    try:
        while chunk := stream.read(CHUNK):
            seen += len(chunk)
            if seen > cap:
                raise Refused("zip_bomb", "The archive member expands past its declared size")
            yield chunk
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise Refused("corrupt_archive", f"The archive member cannot be decompressed: {exc}") from exc
