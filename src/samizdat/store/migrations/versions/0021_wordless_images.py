"""image_facts.wordless: why an image is not read for text (spacer, icon, blank, qr_code), a
decision of its own, apart from the decorations left out of comparisons. What an earlier
release found of an image not read for its text yet is forgotten, so that the reader reads it
again whole and decides (a decoration was never read for text; a QR code was one the finder
alone saw).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("image_facts") as batch:
        batch.add_column(sa.Column("wordless", sa.String(length=20), nullable=True))
    unread = "SELECT sha256 FROM image_facts WHERE ocr_at IS NULL"
    op.execute(f"DELETE FROM image_bands WHERE sha256 IN ({unread})")
    op.execute(f"DELETE FROM image_facts WHERE sha256 IN ({unread})")


def downgrade() -> None:
    with op.batch_alter_table("image_facts") as batch:
        batch.drop_column("wordless")
