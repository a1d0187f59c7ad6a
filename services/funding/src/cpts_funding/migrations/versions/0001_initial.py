"""Initial schema: the kit's tables (outbox, inbox, idempotency keys) and the funding service's:
the registry projection, funders, flows, declarations, ACI parameter versions, policy levers,
achievements and reallocations.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 13:36:34.625816
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
        "achievements",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("mission", sa.String(length=40), nullable=False),
        sa.Column("rate", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", "year", "mission", name=op.f("pk_achievements")),
    )
    op.create_table(
        "aci_parameter_versions",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("advance_share", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_aci_parameter_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_aci_parameter_versions_version")),
    )
    op.create_table(
        "declarations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declarations")),
        sa.UniqueConstraint("cpts_id", "fiscal_year", "version", name=op.f("uq_declarations_cpts_id")),
    )
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_declarations_cpts_id"), ["cpts_id"], unique=False)

    op.create_table(
        "funders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funders")),
        sa.UniqueConstraint("siren", name=op.f("uq_funders_siren")),
    )
    with op.batch_alter_table("funders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_funders_category"), ["category"], unique=False)

    op.create_table(
        "policy_levers",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("variable_share", sa.Numeric(precision=5, scale=4), nullable=True),
        sa.Column("fungibility_share", sa.Numeric(precision=5, scale=4), nullable=True),
        sa.Column("fungibility_national_cap", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_policy_levers")),
    )
    op.create_table(
        "reallocations",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("from_mission", sa.String(length=40), nullable=False),
        sa.Column("to_mission", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_reallocations")),
        sa.UniqueConstraint("id", name=op.f("uq_reallocations_id")),
    )
    with op.batch_alter_table("reallocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reallocations_cpts_id"), ["cpts_id"], unique=False)
        batch_op.create_index("ix_reallocations_year", ["year", "accepted"], unique=False)

    op.create_table(
        "registry_cpts",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("status_since", sa.Date(), nullable=True),
        sa.Column("aci_signed_on", sa.Date(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("size_tier", sa.String(length=4), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", name=op.f("pk_registry_cpts")),
    )
    with op.batch_alter_table("registry_cpts", schema=None) as batch_op:
        batch_op.create_index("ix_registry_cpts_scope", ["region", "departement"], unique=False)

    op.create_table(
        "registry_status_history",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_registry_status_history")),
    )
    with op.batch_alter_table("registry_status_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_status_history_cpts_id"), ["cpts_id"], unique=False)

    op.create_table(
        "aci_parameter_tiers",
        sa.Column("version_seq", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("min_population", sa.Integer(), nullable=False),
        sa.Column("functioning", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("snp_compensation", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_seq"],
            ["aci_parameter_versions.seq"],
            name=op.f("fk_aci_parameter_tiers_version_seq_aci_parameter_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_seq", "tier", name=op.f("pk_aci_parameter_tiers")),
    )
    op.create_table(
        "declared_sources",
        sa.Column("declaration_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("funder_id", sa.String(length=36), nullable=True),
        sa.Column("funder_name", sa.String(length=200), nullable=True),
        sa.Column("funder_siren", sa.String(length=9), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name=op.f("fk_declared_sources_declaration_id_declarations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("declaration_id", "position", name=op.f("pk_declared_sources")),
    )
    op.create_table(
        "flows",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("funder_id", sa.String(length=36), nullable=False),
        sa.Column("funder_category", sa.String(length=40), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("mission", sa.String(length=40), nullable=False),
        sa.Column("part", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("flow_date", sa.Date(), nullable=False),
        sa.Column("funder_reference", sa.String(length=100), nullable=False),
        sa.Column("reverses", sa.String(length=36), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["funder_id"], ["funders.id"], name=op.f("fk_flows_funder_id_funders")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_flows")),
        sa.UniqueConstraint("id", name=op.f("uq_flows_id")),
        sa.UniqueConstraint("reverses", name=op.f("uq_flows_reverses")),
    )
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.create_index("ix_flows_cpts_year", ["cpts_id", "fiscal_year"], unique=False)
        batch_op.create_index(batch_op.f("ix_flows_funder_id"), ["funder_id"], unique=False)
        batch_op.create_index("ix_flows_year_category", ["fiscal_year", "funder_category"], unique=False)

    op.create_table(
        "policy_functioning_steps",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("from_maturity", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reduction", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["year"],
            ["policy_levers.year"],
            name=op.f("fk_policy_functioning_steps_year_policy_levers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("year", "from_maturity", name=op.f("pk_policy_functioning_steps")),
    )
    op.create_table(
        "aci_parameter_missions",
        sa.Column("version_seq", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("mission", sa.String(length=40), nullable=False),
        sa.Column("fixed", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("variable", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_seq", "tier"],
            ["aci_parameter_tiers.version_seq", "aci_parameter_tiers.tier"],
            name=op.f("fk_aci_parameter_missions_version_seq_aci_parameter_tiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_seq", "tier", "mission", name=op.f("pk_aci_parameter_missions")),
    )


def downgrade() -> None:
    op.drop_table("aci_parameter_missions")
    op.drop_table("policy_functioning_steps")
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_index("ix_flows_year_category")
        batch_op.drop_index(batch_op.f("ix_flows_funder_id"))
        batch_op.drop_index("ix_flows_cpts_year")

    op.drop_table("flows")
    op.drop_table("declared_sources")
    op.drop_table("aci_parameter_tiers")
    with op.batch_alter_table("registry_status_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_status_history_cpts_id"))

    op.drop_table("registry_status_history")
    with op.batch_alter_table("registry_cpts", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_cpts_scope")

    op.drop_table("registry_cpts")
    with op.batch_alter_table("reallocations", schema=None) as batch_op:
        batch_op.drop_index("ix_reallocations_year")
        batch_op.drop_index(batch_op.f("ix_reallocations_cpts_id"))

    op.drop_table("reallocations")
    op.drop_table("policy_levers")
    with op.batch_alter_table("funders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funders_category"))

    op.drop_table("funders")
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_declarations_cpts_id"))

    op.drop_table("declarations")
    op.drop_table("aci_parameter_versions")
    op.drop_table("achievements")
    drop_kit_tables()
