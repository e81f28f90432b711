"""the tamper-evident log: entries, the Merkle tree's complete subtrees, signed tree heads

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 14:00:00
"""

import sqlalchemy as sa
from alembic import op

import samizdat.store.schema

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("created_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_log_entries_article_id_articles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_entries")),
        sa.UniqueConstraint("seq", name=op.f("uq_log_entries_seq")),
    )
    pending = sa.text("seq IS NULL")
    op.create_index(
        "ix_log_entries_pending", "log_entries", ["id"], sqlite_where=pending, postgresql_where=pending
    )
    op.create_index("ix_log_entries_article_id", "log_entries", ["article_id"])
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "position", name=op.f("pk_log_nodes")),
    )
    op.create_table(
        "tree_heads",
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_tree_heads")),
    )


def downgrade() -> None:
    op.drop_table("tree_heads")
    op.drop_table("log_nodes")
    op.drop_index("ix_log_entries_article_id", table_name="log_entries")
    op.drop_index("ix_log_entries_pending", table_name="log_entries")
    op.drop_table("log_entries")
