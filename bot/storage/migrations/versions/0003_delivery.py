"""rounds.delivery_attempts: a bounded number of deliveries per round

Revision ID: 0003_delivery
Revises: 0002_platform
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_delivery"
down_revision = "0002_platform"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(
            sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("delivery_attempts")
