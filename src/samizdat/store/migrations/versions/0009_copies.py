"""copies: each version's MinHash signature and band keys, articles.cluster_id; every stored
version fingerprinted

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 05:00:00
"""

import sqlalchemy as sa
from alembic import op

from samizdat.store.copies import reindex_copies

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cluster_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_articles_cluster_id", ["cluster_id"], unique=False)
    op.create_table(
        "copy_signatures",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("shingles", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_copy_signatures_article_id_articles", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name="fk_copy_signatures_version_id_versions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("version_id", name="pk_copy_signatures"),
    )
    op.create_table(
        "copy_keys",
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name="fk_copy_keys_version_id_versions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", "version_id", name="pk_copy_keys"),
        sqlite_with_rowid=False,
    )
    reindex_copies(op.get_bind())


def downgrade() -> None:
    op.drop_table("copy_keys")
    op.drop_table("copy_signatures")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_cluster_id")
        batch_op.drop_column("cluster_id")
