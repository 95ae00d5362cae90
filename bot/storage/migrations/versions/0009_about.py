""""ask me about" lines

Revision ID: 0009_about
Revises: 0008_avoids
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_about"
down_revision = "0008_avoids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("about", sa.String(length=150), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("about")
