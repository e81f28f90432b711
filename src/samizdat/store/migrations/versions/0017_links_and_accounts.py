"""Links between articles, accounts to watch, and the account a source belongs to

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 19:40:00
"""

import sqlalchemy as sa
from alembic import op

import samizdat.store.schema

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("biz", sa.Text(), nullable=True),
        sa.Column("user_name", sa.Text(), nullable=True),
        sa.Column("nickname", sa.Text(), nullable=True),
        sa.Column("follow_albums", sa.Integer(), nullable=False),
        sa.Column("created_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("platform", "biz", name="uq_accounts_platform_biz"),
        sa.UniqueConstraint("platform", "user_name", name="uq_accounts_platform_user_name"),
    )
    op.create_table(
        "article_links",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("canonical_id", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_links_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "position", name=op.f("pk_article_links")),
    )
    op.create_index("ix_article_links_canonical_id", "article_links", ["canonical_id"])
    op.create_index("ix_article_links_url", "article_links", ["url"])
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_sources_account_id_accounts"), "accounts", ["account_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_constraint(op.f("fk_sources_account_id_accounts"), type_="foreignkey")
        batch.drop_column("account_id")
    op.drop_index("ix_article_links_url", table_name="article_links")
    op.drop_index("ix_article_links_canonical_id", table_name="article_links")
    op.drop_table("article_links")
    op.drop_table("accounts")
