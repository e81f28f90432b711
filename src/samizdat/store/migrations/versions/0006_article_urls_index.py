"""article_urls by article (an article page lists its URLs); articles by account id (a blocked
account makes its other articles due at once)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 03:00:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_article_urls_article_id", "article_urls", ["article_id"])
    op.create_index("ix_articles_account_id", "articles", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_articles_account_id", table_name="articles")
    op.drop_index("ix_article_urls_article_id", table_name="article_urls")
