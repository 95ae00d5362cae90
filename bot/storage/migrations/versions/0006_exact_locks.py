"""locks that work on every database

Revision ID: 0006_exact
Revises: 0005_edge
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_exact"
down_revision = "0005_edge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("locks")
