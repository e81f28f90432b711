"""search_docs.tokens on PostgreSQL compressed with LZ4 instead of pglz

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 16:30:00

A document's token array (a few thousand characters, bigrams and trigrams, 30–40 kB) is
stored compressed out of line; pglz compressing it took as long as the GIN index's insertion
of its tokens, on the path of every capture (issue 28: half of a search document's write
cost). LZ4 is several times faster. A partitioned table's setting reaches only partitions made
after it, so each existing partition is set too; rows already written keep their pglz until
rewritten. A server built without LZ4 keeps pglz, with a notice. SQLite is untouched.
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _set_compression(method: str) -> None:
    op.execute(
        f"""
        DO $$
        DECLARE part regclass;
        BEGIN
            ALTER TABLE search_docs ALTER COLUMN tokens SET COMPRESSION {method};
            FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'search_docs'::regclass LOOP
                EXECUTE format('ALTER TABLE %s ALTER COLUMN tokens SET COMPRESSION {method}', part);
            END LOOP;
        EXCEPTION WHEN feature_not_supported THEN
            RAISE NOTICE 'this PostgreSQL was built without %: search_docs.tokens keeps its compression', '{method}';
        END $$
        """
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _set_compression("lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _set_compression("pglz")
