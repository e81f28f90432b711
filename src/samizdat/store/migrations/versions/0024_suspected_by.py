"""articles.suspected_by: the way out (fetch.egress) whose check saw a removal not yet
confirmed, so that the confirmation goes by another, from whichever worker takes it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("suspected_by", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("suspected_by")
