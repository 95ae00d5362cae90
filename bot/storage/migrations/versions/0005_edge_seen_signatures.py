"""seen request signatures, for refusing replayed requests

Revision ID: 0005_edge
Revises: 0004_dates
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_edge"
down_revision = "0004_dates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_signatures",
        sa.Column("signature", sa.String(length=80), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature"),
    )
    with op.batch_alter_table("seen_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seen_signatures_signed_at"), ["signed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("seen_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seen_signatures_signed_at"))
    op.drop_table("seen_signatures")
