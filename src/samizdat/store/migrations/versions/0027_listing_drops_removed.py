"""sources.drops_removed: whether the source's listing was seen to leave out a removed article
(1) or to keep one (0); a listing known to leave them out is a look at every article it lists.
sources.left_out: the URLs that left its listing lately, until that is known.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 20:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("drops_removed", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("left_out", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("left_out")
        batch.drop_column("drops_removed")
