"""RFC 3161 tokens of the signed tree heads

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 14:20:00
"""

import sqlalchemy as sa
from alembic import op

import samizdat.store.schema

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "head_timestamps",
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("stamped_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["size"], ["tree_heads.size"], name=op.f("fk_head_timestamps_size_tree_heads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("size", "authority", name=op.f("pk_head_timestamps")),
    )


def downgrade() -> None:
    op.drop_table("head_timestamps")
