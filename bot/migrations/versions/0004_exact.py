"""locks that work on every database; a program's channel read error

Revision ID: 0004_exact
Revises: 0003_delivery
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_exact"
down_revision = "0003_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("programs") as batch:
        batch.add_column(sa.Column("channel_error", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("channel_error")
    op.drop_table("locks")
