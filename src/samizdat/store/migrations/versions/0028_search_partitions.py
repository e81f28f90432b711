"""search_docs on PostgreSQL: split by article id into partitions, each with its own index

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 12:20:00

A GIN index reads the whole posting list of each token of a query into a bitmap before it
gives the first match: at 500,000 articles counting the matches of a common character read
500,000 entries (145 ms), and the cost grew with the archive whatever the page asked for
(issue 28). Split by article id, a common word's capped count is answered by the first
partition and its newest page by the newest one, each of a bounded size; a rare word reads
one short list per partition. ``store/search.py: make_partitions`` makes the partitions as
the ids grow.

The documents are copied into the new table, and its index is made after the copy (one
sorted build per partition, faster than inserting into it). SQLite searches with FTS5 and is
untouched.
"""

from alembic import op
from sqlalchemy import text

from samizdat.store.search import make_partitions

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

COLUMNS = "article_id, title, account, author, body, tokens, images"
GRAMS_INDEX = "CREATE INDEX ix_search_docs_grams ON search_docs USING gin (search_grams(tokens))"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _set_aside()
    op.execute("CREATE TABLE search_docs (LIKE search_docs_old) PARTITION BY RANGE (article_id)")
    _constraints()
    make_partitions(bind, bind.scalar(text("SELECT coalesce(max(article_id), 0) FROM search_docs_old")))
    _copy_and_index()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _set_aside()
    op.execute("CREATE TABLE search_docs (LIKE search_docs_old) WITH (toast_tuple_target = 8160)")
    _constraints()
    _copy_and_index()


def _set_aside() -> None:
    op.execute("DROP INDEX ix_search_docs_grams")
    op.execute("ALTER TABLE search_docs RENAME TO search_docs_old")
    op.execute("ALTER TABLE search_docs_old RENAME CONSTRAINT pk_search_docs TO pk_search_docs_old")
    op.execute(
        "ALTER TABLE search_docs_old RENAME CONSTRAINT fk_search_docs_article_id_articles "
        "TO fk_search_docs_old_article_id_articles"
    )


def _constraints() -> None:
    op.execute("ALTER TABLE search_docs ADD CONSTRAINT pk_search_docs PRIMARY KEY (article_id)")
    op.execute(
        "ALTER TABLE search_docs ADD CONSTRAINT fk_search_docs_article_id_articles "
        "FOREIGN KEY (article_id) REFERENCES articles (id) ON DELETE CASCADE"
    )


def _copy_and_index() -> None:
    op.execute(f"INSERT INTO search_docs ({COLUMNS}) SELECT {COLUMNS} FROM search_docs_old")
    op.execute("DROP TABLE search_docs_old")
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(GRAMS_INDEX)
    op.execute("ANALYZE search_docs")
