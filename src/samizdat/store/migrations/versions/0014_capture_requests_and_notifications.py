"""URLs submitted through the admin API wait in `capture_requests` for the watcher (the site
no longer captures); notifications go through the `notifications` outbox, written with the
check that declares them

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 13:00:00
"""

import sqlalchemy as sa
from alembic import op

import samizdat.store.schema

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capture_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("requested_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.Column("finished_at", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_capture_requests_article_id_articles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture_requests")),
    )
    queued = sa.text("finished_at IS NULL")
    op.create_index(
        "ix_capture_requests_queued", "capture_requests", ["id"], sqlite_where=queued, postgresql_where=queued
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("detected_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.Column("delivered_to", sa.JSON(), nullable=True),
        sa.Column("delivered_at", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.Column("gave_up_at", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_notifications_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_notifications_key")),
    )
    pending = sa.text("delivered_at IS NULL AND gave_up_at IS NULL")
    op.create_index(
        "ix_notifications_pending",
        "notifications",
        ["next_attempt_at"],
        sqlite_where=pending,
        postgresql_where=pending,
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_pending", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_capture_requests_queued", table_name="capture_requests")
    op.drop_table("capture_requests")
