"""drop the `hosts` table: nothing ever wrote or read it (a host's rest and turns live in
`host_turns` and in memory)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 11:00:00
"""

import sqlalchemy as sa
from alembic import op

import samizdat.store.schema

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("hosts")


def downgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("backoff_until", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.Column("last_verification_at", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_hosts")),
    )
