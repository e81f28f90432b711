"""search_docs on PostgreSQL: trigrams among the tokens, and the folded text kept in the row

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 17:00:00

With characters and bigrams only, a three-character query was the documents holding both of
its bigrams, each read and verified: a common pair of bigrams meant reading a large part of
the archive to count a few matches (issue 28). With trigrams it is one token, and a longer
query is verified only where all its trigrams are.

Verifying reads a document's folded text. Rows larger than 2 kB had it moved out of line into
the TOAST table, one more index lookup for each document verified; with ``toast_tuple_target``
at its maximum only the token array (the largest column) goes out of line, and the text is
read from the row itself (3.7 times faster to verify).

Each document's tokens are made again from its folded columns, which are written again too so
that they are stored by the new rule, a batch of ids at a time. SQLite searches with FTS5 and
is untouched.
"""

from alembic import op
from sqlalchemy import bindparam, select, update

from samizdat.store.schema import search_docs
from samizdat.store.search import COLUMNS, document_tokens

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_docs SET (toast_tuple_target = 8160)")
    last = 0
    while rows := bind.execute(
        select(search_docs.c.article_id, *(search_docs.c[c] for c in COLUMNS))
        .where(search_docs.c.article_id > last)
        .order_by(search_docs.c.article_id)
        .limit(BATCH)
    ).all():
        last = rows[-1].article_id
        bind.execute(
            update(search_docs).where(search_docs.c.article_id == bindparam("id")),
            [
                {"id": row.article_id, "tokens": document_tokens(row._mapping)}
                | {c: row._mapping[c] for c in COLUMNS}
                for row in rows
            ],
        )


def downgrade() -> None:
    """Trigrams left in place are tokens no query asks for."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_docs RESET (toast_tuple_target)")
