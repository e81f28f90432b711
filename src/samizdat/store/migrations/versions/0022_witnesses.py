"""Checkpoints and witnesses: each tree head also as a signed checkpoint note, the witnesses'
cosignatures of them, and this archive's own watch over other logs as a witness.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 13:00:00
"""

import sqlalchemy as sa
from alembic import op

from samizdat.store.schema import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tree_heads") as batch:
        batch.add_column(sa.Column("checkpoint", sa.Text(), nullable=True))
    op.create_table(
        "cosignatures",
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("witness", sa.Text(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["size"], ["tree_heads.size"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("size", "witness"),
    )
    op.create_table(
        "witnessed_logs",
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("root", sa.LargeBinary(), nullable=True),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("origin"),
    )
    op.create_table(
        "witness_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("witness_alerts")
    op.drop_table("witnessed_logs")
    op.drop_table("cosignatures")
    with op.batch_alter_table("tree_heads") as batch:
        batch.drop_column("checkpoint")
