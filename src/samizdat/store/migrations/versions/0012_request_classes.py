"""requests go by class: the per-host turn remembers which class reserved the next one; each
worker reports its queues by class; an article seen removed before its capture keeps what its
listing said of it; claimed articles are indexed by their worker (dead workers' claims freed)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("host_turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved_class", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reserved_until", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queues", sa.JSON(), nullable=True))
    op.add_column("articles", sa.Column("listed", sa.JSON(), nullable=True))
    claimed = sa.text("claimed_by IS NOT NULL")
    op.create_index(
        "ix_articles_claimed_by", "articles", ["claimed_by"], sqlite_where=claimed, postgresql_where=claimed
    )


def downgrade() -> None:
    op.drop_index("ix_articles_claimed_by", table_name="articles")
    op.drop_column("articles", "listed")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("queues")
    with op.batch_alter_table("host_turns", schema=None) as batch_op:
        batch_op.drop_column("reserved_until")
        batch_op.drop_column("reserved_class")
