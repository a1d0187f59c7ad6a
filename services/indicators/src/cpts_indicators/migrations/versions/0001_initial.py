"""Initial schema: the kit's tables (outbox, inbox, idempotency keys) and the indicators service's.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 23:35:25.880238
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
        "indicator_catalogue_versions",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("effective_year", sa.Integer(), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_indicator_catalogue_versions")),
    )
    with op.batch_alter_table("indicator_catalogue_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_catalogue_versions_effective_year"), ["effective_year"], unique=False
        )

    op.create_table(
        "indicator_cpts",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("size_tier", sa.String(length=2), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("aci_signed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("cpts_id", name=op.f("pk_indicator_cpts")),
    )
    with op.batch_alter_table("indicator_cpts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicator_cpts_departement"), ["departement"], unique=False)
        batch_op.create_index(batch_op.f("ix_indicator_cpts_region"), ["region"], unique=False)

    op.create_table(
        "indicator_dialogues",
        sa.Column("dialogue_id", sa.String(length=36), nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("grid", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ars_validated_by", sa.String(length=200), nullable=True),
        sa.Column("ars_validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cpam_validated_by", sa.String(length=200), nullable=True),
        sa.Column("cpam_validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("dialogue_id", name=op.f("pk_indicator_dialogues")),
        sa.UniqueConstraint("cpts_id", "year", name=op.f("uq_indicator_dialogues_cpts_id")),
    )
    with op.batch_alter_table("indicator_dialogues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicator_dialogues_cpts_id"), ["cpts_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_indicator_dialogues_region"), ["region"], unique=False)

    op.create_table(
        "indicator_documents",
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("verdict", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_indicator_documents")),
    )
    with op.batch_alter_table("indicator_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicator_documents_cpts_id"), ["cpts_id"], unique=False)

    op.create_table(
        "indicator_envelope_lines",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("mission", sa.String(length=40), nullable=False),
        sa.Column("fixed", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("variable_max", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", "year", "mission", name=op.f("pk_indicator_envelope_lines")),
    )
    op.create_table(
        "indicator_frozen_achievements",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("dialogue_id", sa.String(length=36), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", "year", name=op.f("pk_indicator_frozen_achievements")),
    )
    op.create_table(
        "indicator_measurements",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("measurement_id", sa.String(length=36), nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=80), nullable=False),
        sa.Column("mission", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("evidence_strength", sa.String(length=20), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("extract", sa.JSON(), nullable=True),
        sa.Column("declaration", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_indicator_measurements")),
        sa.UniqueConstraint("measurement_id", name=op.f("uq_indicator_measurements_measurement_id")),
    )
    with op.batch_alter_table("indicator_measurements", schema=None) as batch_op:
        batch_op.create_index("ix_indicator_measurements_cpts_year", ["cpts_id", "year"], unique=False)
        batch_op.create_index(batch_op.f("ix_indicator_measurements_region"), ["region"], unique=False)

    op.create_table(
        "indicator_published_signals",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", "year", "kind", name=op.f("pk_indicator_published_signals")),
    )
    op.create_table(
        "indicator_target_adjustments",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=80), nullable=False),
        sa.Column("default", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("adjusted_by", sa.String(length=200), nullable=False),
        sa.Column("adjusted_role", sa.String(length=20), nullable=False),
        sa.Column("adjusted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_indicator_target_adjustments")),
    )
    with op.batch_alter_table("indicator_target_adjustments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicator_target_adjustments_cpts_id"), ["cpts_id"], unique=False)

    op.create_table(
        "indicator_target_sets",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("catalogue_version", sa.String(length=64), nullable=False),
        sa.Column("size_tier", sa.String(length=2), nullable=False),
        sa.Column("maturity", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", "year", name=op.f("pk_indicator_target_sets")),
    )
    op.create_table(
        "indicator_targets",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=80), nullable=False),
        sa.Column("mission", sa.String(length=40), nullable=False),
        sa.Column("baseline", sa.String(length=40), nullable=True),
        sa.Column("default", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("cpts_id", "year", "indicator", name=op.f("pk_indicator_targets")),
    )


def downgrade() -> None:
    op.drop_table("indicator_targets")
    op.drop_table("indicator_target_sets")
    with op.batch_alter_table("indicator_target_adjustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_target_adjustments_cpts_id"))

    op.drop_table("indicator_target_adjustments")
    op.drop_table("indicator_published_signals")
    with op.batch_alter_table("indicator_measurements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_measurements_region"))
        batch_op.drop_index("ix_indicator_measurements_cpts_year")

    op.drop_table("indicator_measurements")
    op.drop_table("indicator_frozen_achievements")
    op.drop_table("indicator_envelope_lines")
    with op.batch_alter_table("indicator_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_documents_cpts_id"))

    op.drop_table("indicator_documents")
    with op.batch_alter_table("indicator_dialogues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_dialogues_region"))
        batch_op.drop_index(batch_op.f("ix_indicator_dialogues_cpts_id"))

    op.drop_table("indicator_dialogues")
    with op.batch_alter_table("indicator_cpts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_cpts_region"))
        batch_op.drop_index(batch_op.f("ix_indicator_cpts_departement"))

    op.drop_table("indicator_cpts")
    with op.batch_alter_table("indicator_catalogue_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_catalogue_versions_effective_year"))

    op.drop_table("indicator_catalogue_versions")
    drop_kit_tables()
