"""suspected_at

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 22:14:04.940316
"""

import sqlalchemy as sa
from alembic import op

import samizdat.store.schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspected_at", samizdat.store.schema.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("suspected_at")
