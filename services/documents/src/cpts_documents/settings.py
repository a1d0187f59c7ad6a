"""Documents settings: ``CPTS_DOCUMENTS_*`` variables, falling back to the shared ``CPTS_*`` ones."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import ClassVar, Literal

from pydantic_settings import SettingsConfigDict

from cpts_kit.settings import ServiceSettings


class DocumentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CPTS_DOCUMENTS_", extra="ignore")
    service_name: ClassVar[str] = "documents"
    default_port: ClassVar[int] = 8003

    # Uploads are documents, not JSON: a larger body limit than the kit's default (the JSON
    # routes keep the platform's ``max_body_bytes``).
    max_upload_bytes: int = 52_000_000
    max_document_bytes: int = 50_000_000
    max_line_bytes: int = 16_384
    max_zip_members: int = 2_000
    max_uncompressed_bytes: int = 500_000_000
    max_compression_ratio: int = 200
    max_listed_issues: int = 1_000
    max_flagged_entries: int = 500
    large_payment_threshold: Decimal = Decimal("3000.00")

    # Where raw bytes are kept: a folder (default ``<state_dir>/documents-blobs``) or an
    # S3-compatible bucket (path-style requests signed with AWS Signature V4 by botocore).
    blob_backend: Literal["local", "s3"] = "local"
    blob_dir: Path | None = None
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_prefix: str = "documents/"

    # Completeness: the periodic overdue check (seconds; 0 turns it off) and the first fiscal
    # year it looks at.
    overdue_check_interval_seconds: float = 3600.0
    overdue_first_year: int = 2024

    @property
    def blob_root(self) -> Path:
        return self.blob_dir or (self.state_dir / "documents-blobs")
