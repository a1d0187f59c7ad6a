"""Funder territories, ACI flow exceptions, avenant 2 parameters, versioned policy levers,
contract missions, spending from the documents service, achievement sources.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=2)
RATE = sa.Numeric(precision=5, scale=4)


def upgrade() -> None:
    op.add_column("funders", sa.Column("region", sa.String(length=3), nullable=True))
    op.add_column("funders", sa.Column("departement", sa.String(length=3), nullable=True))
    op.add_column("flows", sa.Column("aci_basis", sa.String(length=40), nullable=True))
    op.add_column("aci_parameter_versions", sa.Column("crisis_update_share", RATE, nullable=True))
    op.add_column("aci_parameter_tiers", sa.Column("startup_functioning", MONEY, nullable=True))
    op.add_column("aci_parameter_tiers", sa.Column("intention_letter_lump_sum", MONEY, nullable=True))
    op.add_column("policy_levers", sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("achievements", sa.Column("source", sa.String(length=20), server_default="override", nullable=False))
    op.create_table(
        "policy_versions",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("levers", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("year", "version", name=op.f("uq_policy_versions_year")),
    )
    op.create_table(
        "contract_missions",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("mission", sa.String(length=40), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", "mission", name=op.f("pk_contract_missions")),
    )
    op.create_table(
        "spending",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("mission", sa.String(length=40), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", "fiscal_year", "mission", name=op.f("pk_spending")),
    )


def downgrade() -> None:
    op.drop_table("spending")
    op.drop_table("contract_missions")
    op.drop_table("policy_versions")
    with op.batch_alter_table("achievements") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("policy_levers") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("aci_parameter_tiers") as batch:
        batch.drop_column("intention_letter_lump_sum")
        batch.drop_column("startup_functioning")
    with op.batch_alter_table("aci_parameter_versions") as batch:
        batch.drop_column("crisis_update_share")
    with op.batch_alter_table("flows") as batch:
        batch.drop_column("aci_basis")
    with op.batch_alter_table("funders") as batch:
        batch.drop_column("departement")
        batch.drop_column("region")
