"""sources.next_poll_at and sources.publishing (polls that follow the publishing); set_aside_links
(linked articles whose host could not be reached, tried again later); workers.requests (what
each worker sent each host, by class)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import samizdat.store.schema

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("next_poll_at", samizdat.store.schema.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("publishing", sa.JSON(), nullable=True))
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("requests", sa.JSON(), nullable=True))
    op.create_table(
        "set_aside_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("set_aside_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("next_try_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("gave_up_at", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_set_aside_links")),
        sa.UniqueConstraint("url", name=op.f("uq_set_aside_links_url")),
    )
    op.create_index(
        "ix_set_aside_links_due",
        "set_aside_links",
        ["next_try_at"],
        sqlite_where=sa.text("gave_up_at IS NULL"),
        postgresql_where=sa.text("gave_up_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_set_aside_links_due", table_name="set_aside_links")
    op.drop_table("set_aside_links")
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("requests")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("publishing")
        batch.drop_column("next_poll_at")
