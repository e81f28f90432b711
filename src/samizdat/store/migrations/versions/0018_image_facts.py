"""What reading each image found: size, perceptual hashes and their bands, refusals, text

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 20:20:00
"""

import sqlalchemy as sa
from alembic import op

import samizdat.store.schema

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_facts",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("analysed_at", samizdat.store.schema.UTCDateTime(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(length=20), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=True),
        sa.Column("refused", sa.String(length=40), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("decoration", sa.String(length=20), nullable=True),
        sa.Column("windows", sa.JSON(), nullable=True),
        sa.Column("ocr_text", sa.Text(), nullable=True),
        sa.Column("ocr_lines", sa.JSON(), nullable=True),
        sa.Column("ocr_at", samizdat.store.schema.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sha256"], ["blobs.sha256"], name=op.f("fk_image_facts_sha256_blobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_image_facts")),
    )
    op.create_table(
        "image_bands",
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["image_facts.sha256"],
            name=op.f("fk_image_bands_sha256_image_facts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("band", "sha256", name=op.f("pk_image_bands")),
    )


def downgrade() -> None:
    op.drop_table("image_bands")
    op.drop_table("image_facts")
