"""workspaces.enterprise_id (Enterprise Grid tokens) and clock_ticks (the clock's heartbeat)

Revision ID: 0002_platform
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_platform"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_id", sa.String(length=32), nullable=True))
    # Workspaces installed from a Grid org before this column existed: the bot row knows.
    op.execute(
        "UPDATE workspaces SET enterprise_id = ("
        " SELECT b.enterprise_id FROM slack_bots b WHERE b.team_id = workspaces.team_id"
        " AND b.enterprise_id IS NOT NULL ORDER BY b.installed_at DESC LIMIT 1)"
    )
    op.create_table(
        "clock_ticks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_tick_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("clock_ticks")
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("enterprise_id")
