"""after lunch: thanks and keep in touch

Revision ID: 0011_after_lunch
Revises: 0010_reporting_lines
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_after_lunch"
down_revision = "0010_reporting_lines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "after_lunch",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "group_id", sa.Integer(), sa.ForeignKey("groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_after_lunch_group", "after_lunch", ["group_id"])
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("touch_next_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_groups_touch_next_at", "groups", ["touch_next_at"],
        postgresql_where=sa.text("touch_next_at IS NOT NULL"),
        sqlite_where=sa.text("touch_next_at IS NOT NULL"),
    )
    with op.batch_alter_table("programs") as batch:
        batch.add_column(
            sa.Column("keep_in_touch_weeks", sa.Integer(), nullable=False, server_default="12")
        )


def downgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("keep_in_touch_weeks")
    op.drop_index("ix_groups_touch_next_at", table_name="groups")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("touch_next_at")
    op.drop_index("ix_after_lunch_group", table_name="after_lunch")
    op.drop_table("after_lunch")
