"""search_docs.tokens: on PostgreSQL, each document's characters and bigrams under a GIN index;
every archived article indexed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 04:00:00

SQLite searches with FTS5 and leaves the column empty. Then every archived article is
indexed from its latest version (the search tables have their final shape here: a later
change to them must index again in its own migration).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from samizdat.store.search import reindex_all

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    kind = postgresql.ARRAY(sa.Text()) if postgres else sa.JSON()
    with op.batch_alter_table("search_docs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tokens", kind, nullable=True))
    connection = op.get_bind()
    if postgres:
        op.create_index("ix_search_docs_tokens", "search_docs", ["tokens"], postgresql_using="gin")
    reindex_all(connection)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_search_docs_tokens", table_name="search_docs")
    with op.batch_alter_table("search_docs", schema=None) as batch_op:
        batch_op.drop_column("tokens")
