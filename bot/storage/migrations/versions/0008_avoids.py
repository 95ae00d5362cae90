"""avoid lists

Revision ID: 0008_avoids
Revises: 0007_own_level
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_avoids"
down_revision = "0007_own_level"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "avoids",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("avoided_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "user_id", "avoided_id", name="uq_avoids_team_user_avoided"),
    )


def downgrade() -> None:
    op.drop_table("avoids")
