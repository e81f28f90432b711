"""workers.egresses: each worker's ways out (fetch.egress) with the requests, refusals and
rests of each, for ``samizdat status``.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("egresses", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("egresses")
