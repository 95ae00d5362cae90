"""lunch dates: people's lunch days and time, offices' days, dates offered and agreed, votes

Revision ID: 0012_lunch_dates
Revises: 0011_after_lunch
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_lunch_dates"
down_revision = "0011_after_lunch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("lunch_days", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("lunch_time", sa.String(length=5), nullable=True))
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("offered", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("lunch_at", sa.DateTime(timezone=True), nullable=True))
        for column in ("auto_at", "remind_at", "check_at"):
            batch.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    for column in ("auto_at", "remind_at", "check_at"):
        op.create_index(
            f"ix_groups_{column}", "groups", [column],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )
    with op.batch_alter_table("programs") as batch:
        batch.add_column(
            sa.Column("auto_schedule", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "office_days",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("location_key", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("days", sa.String(length=32), nullable=False),
        sa.UniqueConstraint("team_id", "location_key", name="uq_office_days_location"),
    )
    op.create_table(
        "lunch_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "group_id", sa.Integer(), sa.ForeignKey("groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("group_id", "user_id", "start", name="uq_lunch_votes_group_user_start"),
    )


def downgrade() -> None:
    op.drop_table("lunch_votes")
    op.drop_table("office_days")
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("auto_schedule")
    for column in ("auto_at", "remind_at", "check_at"):
        op.drop_index(f"ix_groups_{column}", table_name="groups")
    with op.batch_alter_table("groups") as batch:
        for column in ("check_at", "remind_at", "auto_at"):
            batch.drop_column(column)
        batch.drop_column("lunch_at")
        batch.drop_column("offered")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("lunch_time")
        batch.drop_column("lunch_days")
