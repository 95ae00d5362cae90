"""channel members kept by the app; Slack Connect setting

Revision ID: 0004_dates
Revises: 0003_delivery
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_dates"
down_revision = "0003_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allow_external", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("members_read_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("members_error", sa.String(length=200), nullable=True))
    op.create_table(
        "channel_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("program_id", "user_id", name="uq_channel_members_program_user"),
    )
    op.create_index("ix_channel_members_user", "channel_members", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_channel_members_user", table_name="channel_members")
    op.drop_table("channel_members")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("members_error")
        batch_op.drop_column("members_read_at")
        batch_op.drop_column("allow_external")
