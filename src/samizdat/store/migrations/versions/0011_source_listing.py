"""sources remember what their last poll listed, in order, so that an entry dropped from the
middle of a listing (a removed article leaving its account's list) can be checked at once

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listing", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("listing")
