"""how often the clock ticks, for /healthz

Revision ID: 0013_health
Revises: 0012_lunch_dates
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_health"
down_revision = "0012_lunch_dates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clock_ticks") as batch:
        batch.add_column(sa.Column("tick_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clock_ticks") as batch:
        batch.drop_column("tick_seconds")
