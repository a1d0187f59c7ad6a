"""Initial schema: the kit's tables (outbox, inbox, idempotency keys) and the registry's.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:54:12.226692
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
        "cpts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=True),
        sa.Column("finess", sa.String(length=9), nullable=True),
        sa.Column("legal_form", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("attachment_cpam", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("status_since", sa.Date(), nullable=False),
        sa.Column("aci_signed_on", sa.Date(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("size_tier", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cpts")),
        sa.UniqueConstraint("siren", name=op.f("uq_cpts_siren")),
    )
    with op.batch_alter_table("cpts", schema=None) as batch_op:
        batch_op.create_index("ix_cpts_scope", ["region", "departement"], unique=False)
        batch_op.create_index("ix_cpts_status", ["status"], unique=False)

    op.create_table(
        "cpts_board",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cpts_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("profession", sa.String(length=40), nullable=False),
        sa.Column("health_profession", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cpts_id"],
            ["cpts.id"],
            name=op.f("fk_cpts_board_cpts_id_cpts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cpts_board")),
        sa.UniqueConstraint("cpts_id", "position", name=op.f("uq_cpts_board_cpts_id")),
    )
    with op.batch_alter_table("cpts_board", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cpts_board_cpts_id"), ["cpts_id"], unique=False)

    op.create_table(
        "cpts_members",
        sa.Column("cpts_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("profession", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cpts_id"],
            ["cpts.id"],
            name=op.f("fk_cpts_members_cpts_id_cpts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cpts_id", "year", "profession", name=op.f("pk_cpts_members")),
    )
    op.create_table(
        "cpts_status_history",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cpts_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["cpts_id"],
            ["cpts.id"],
            name=op.f("fk_cpts_status_history_cpts_id_cpts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_cpts_status_history")),
    )
    with op.batch_alter_table("cpts_status_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cpts_status_history_cpts_id"), ["cpts_id"], unique=False)

    op.create_table(
        "cpts_territory",
        sa.Column("cpts_id", sa.String(length=36), nullable=False),
        sa.Column("commune", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["cpts_id"],
            ["cpts.id"],
            name=op.f("fk_cpts_territory_cpts_id_cpts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cpts_id", "commune", name=op.f("pk_cpts_territory")),
    )
    with op.batch_alter_table("cpts_territory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cpts_territory_commune"), ["commune"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cpts_territory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cpts_territory_commune"))

    op.drop_table("cpts_territory")
    with op.batch_alter_table("cpts_status_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cpts_status_history_cpts_id"))

    op.drop_table("cpts_status_history")
    op.drop_table("cpts_members")
    with op.batch_alter_table("cpts_board", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cpts_board_cpts_id"))

    op.drop_table("cpts_board")
    drop_kit_tables()
    with op.batch_alter_table("cpts", schema=None) as batch_op:
        batch_op.drop_index("ix_cpts_status")
        batch_op.drop_index("ix_cpts_scope")

    op.drop_table("cpts")
