"""search_docs.tokens: on PostgreSQL, each document's characters and bigrams under a GIN index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 04:00:00

SQLite searches with FTS5 and leaves the column empty. Archived articles are indexed again
by 0019, where the search tables take their final shape (a later change to them must index
again in its own migration).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    kind = postgresql.ARRAY(sa.Text()) if postgres else sa.JSON()
    with op.batch_alter_table("search_docs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tokens", kind, nullable=True))
    if postgres:
        op.create_index("ix_search_docs_tokens", "search_docs", ["tokens"], postgresql_using="gin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_search_docs_tokens", table_name="search_docs")
    with op.batch_alter_table("search_docs", schema=None) as batch_op:
        batch_op.drop_column("tokens")
