"""articles: check_url, content_hash, page_fingerprint

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 23:10:00

Finding due work read every version to pick each article's latest; the columns it compares
against now live on the article row. Existing archives are filled from their latest versions.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("page_fingerprint", sa.String(length=64), nullable=True))
    latest = "(SELECT {column} FROM versions WHERE versions.article_id = articles.id ORDER BY versions.id DESC LIMIT 1)"
    op.execute(
        "UPDATE articles SET check_url = {}, content_hash = {}".format(
            latest.format(column="final_url"), latest.format(column="content_hash")
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("page_fingerprint")
        batch_op.drop_column("content_hash")
        batch_op.drop_column("check_url")
