"""search: folded documents and, on SQLite, an FTS5 index of character bigrams

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 02:00:00

Existing archives are indexed by 0019, once the tables have their final columns.
"""

import sqlalchemy as sa
from alembic import op

FTS_TABLE = "search_fts"
# The index as it was made here (0019 makes it again with the text of images).
CREATE_FTS = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "title, account, author, body, content='', tokenize='ascii')"
)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_docs",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_search_docs_article_id_articles", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("article_id", name="pk_search_docs"),
    )
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        op.execute(CREATE_FTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    op.drop_table("search_docs")
