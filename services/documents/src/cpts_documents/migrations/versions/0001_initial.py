"""Initial schema: the kit's tables (outbox, inbox, idempotency keys) and the documents service's
(CPTS projection, documents, requirement sets, overdue notices).

Revision ID: 0001
Revises:
Create Date: 2026-11-25 13:36:04.426175
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cpts_kit.migrations import create_kit_tables, drop_kit_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "cpts_projection",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("attachment_cpam", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("status_since", sa.Date(), nullable=True),
        sa.Column("aci_signed_on", sa.Date(), nullable=True),
        sa.Column("board", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cpts_projection")),
    )
    op.create_index("ix_cpts_projection_scope", "cpts_projection", ["region", "departement"])

    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("doc_type", sa.String(length=40), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("replaces_id", sa.String(length=36), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("media_type", sa.String(length=120), nullable=False),
        sa.Column("original_filename", sa.String(length=255), nullable=True),
        sa.Column("financial_part", sa.Boolean(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("verdict", sa.String(length=30), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("warning_count", sa.Integer(), nullable=False),
        sa.Column("validation", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("blob_key", sa.String(length=300), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("uploaded_role", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("cpts_id", "doc_type", "fiscal_year", "sha256", name="uq_documents_content"),
        sa.UniqueConstraint("cpts_id", "doc_type", "fiscal_year", "version", name="uq_documents_version"),
    )
    op.create_index("ix_documents_current", "documents", ["cpts_id", "fiscal_year", "is_current"])

    op.create_table(
        "overdue_notices",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("requirement", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", "fiscal_year", "requirement", name=op.f("pk_overdue_notices")),
    )
    op.create_table(
        "requirement_sets",
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("applies_to", sa.String(length=30), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fiscal_year", name=op.f("pk_requirement_sets")),
    )


def downgrade() -> None:
    op.drop_table("requirement_sets")
    op.drop_table("overdue_notices")
    op.drop_index("ix_documents_current", table_name="documents")

    op.drop_table("documents")
    op.drop_index("ix_cpts_projection_scope", table_name="cpts_projection")

    op.drop_table("cpts_projection")
    drop_kit_tables()
