"""reporting lines: a person's manager, the profile field it is read from, skip-level

Revision ID: 0010_reporting_lines
Revises: 0009_about
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_reporting_lines"
down_revision = "0009_about"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("manager", sa.String(length=32), nullable=True))
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("manager_field", sa.String(length=200), nullable=True))
    with op.batch_alter_table("programs") as batch:
        batch.add_column(
            sa.Column("skip_level_apart", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("skip_level_apart")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("manager_field")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("manager")
