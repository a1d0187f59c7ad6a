"""Initial schema: the kit's tables (outbox, inbox, idempotency keys) and the audit's own:
projected facts, the CPTS to re-evaluate, findings with their history, risk scores.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 23:55:00
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
        "dirty_cpts",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", name=op.f("pk_dirty_cpts")),
    )
    op.create_table(
        "facts",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_facts")),
    )
    op.create_index("ix_facts_cpts", "facts", ["cpts_id", "kind"], unique=False)
    op.create_table(
        "findings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("parameters_version", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_before_close", sa.String(length=20), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    op.create_index("ix_findings_rule", "findings", ["rule", "status"], unique=False)
    op.create_index("ix_findings_scope", "findings", ["region", "departement", "cpts_id"], unique=False)
    op.create_table(
        "risk_scores",
        sa.Column("cpts_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("open_findings", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cpts_id", name=op.f("pk_risk_scores")),
    )
    op.create_index("ix_risk_scope", "risk_scores", ["region", "departement"], unique=False)
    op.create_table(
        "finding_transitions",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("finding_id", sa.String(length=36), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_audit", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["findings.id"], name=op.f("fk_finding_transitions_finding_id_findings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_finding_transitions")),
    )
    op.create_index(op.f("ix_finding_transitions_finding_id"), "finding_transitions", ["finding_id"], unique=False)


def downgrade() -> None:
    for table in ("risk_scores", "finding_transitions", "findings", "facts", "dirty_cpts"):
        op.drop_table(table)
    drop_kit_tables()
