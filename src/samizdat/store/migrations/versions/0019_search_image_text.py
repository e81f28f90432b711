"""search_docs.images: the text read in an article's images is searched too; every archived
article indexed again

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 23:00:00

SQLite's contentless FTS5 table cannot take a new column: it is made again with five and
filled from the archive, as PostgreSQL's token arrays are.
"""

import sqlalchemy as sa
from alembic import op

from samizdat.store.search import CREATE_FTS, FTS_TABLE, index_tokens, reindex_all

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

EARLIER_COLUMNS = ("title", "account", "author", "body")


def upgrade() -> None:
    with op.batch_alter_table("search_docs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("images", sa.Text(), nullable=True))
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        op.execute(CREATE_FTS)
    reindex_all(connection)


def downgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("search_docs", schema=None) as batch_op:
        batch_op.drop_column("images")
    if connection.dialect.name != "sqlite":
        return
    op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    op.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
        + ", ".join(EARLIER_COLUMNS)
        + ", content='', tokenize='ascii')"
    )
    rows = connection.execute(sa.text(f"SELECT article_id, {', '.join(EARLIER_COLUMNS)} FROM search_docs"))
    connection.execute(
        sa.text(
            f"INSERT INTO {FTS_TABLE}(rowid, {', '.join(EARLIER_COLUMNS)}) "
            f"VALUES (:article_id, {', '.join(':' + c for c in EARLIER_COLUMNS)})"
        ),
        [
            {"article_id": row.article_id} | {c: index_tokens(row._mapping[c] or "") for c in EARLIER_COLUMNS}
            for row in rows
        ],
    )
