"""related posts: word vectors, an inverted index of each article's heaviest words, and each
article's nearest articles (computed after capture by store/related.py, so nothing is
computed here: every article starts pending)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _article(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["articles.id"], name=f"fk_{table}_{column}_articles", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "related_vectors",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        _article("article_id", "related_vectors"),
        sa.PrimaryKeyConstraint("article_id", name="pk_related_vectors"),
    )
    op.create_table(
        "related_terms",
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        _article("article_id", "related_terms"),
        sa.PrimaryKeyConstraint("term", "article_id", name="pk_related_terms"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_related_terms_article_id", "related_terms", ["article_id"])
    op.create_table(
        "related_posts",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("related_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        _article("article_id", "related_posts"),
        _article("related_id", "related_posts"),
        sa.PrimaryKeyConstraint("article_id", "related_id", name="pk_related_posts"),
    )
    op.create_index("ix_related_posts_related_id", "related_posts", ["related_id"])


def downgrade() -> None:
    op.drop_table("related_posts")
    op.drop_table("related_terms")
    op.drop_table("related_vectors")
