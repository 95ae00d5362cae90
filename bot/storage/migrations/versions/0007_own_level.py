"""a person's own level wins over the job title's guess

Revision ID: 0007_own_level
Revises: 0006_exact
Create Date: 2026-11-29

Every source's value is kept in members.values, so the winner is recomputed in the new order
(and back in the old one on downgrade): nobody's level is lost either way.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_own_level"
down_revision = "0006_exact"
branch_labels = None
depends_on = None

NEW = ("admin", "import", "profile", "self", "title")
OLD = ("admin", "import", "profile", "title", "self")


def _recompute(order: tuple[str, ...]) -> None:
    members = sa.table(
        "members", sa.column("id"), sa.column("level"), sa.column("values", sa.JSON),
        sa.column("sources", sa.JSON),
    )  # fmt: skip
    connection = op.get_bind()
    rows = connection.execute(sa.select(members.c.id, members.c["values"], members.c.sources))
    for member_id, values, sources in rows.all():
        given = (values or {}).get("level") or {}
        if not ({"self", "title"} <= set(given)):
            continue  # only someone with both has a winner that changes
        winner = next(source for source in order if source in given)
        if sources.get("level") == winner:
            continue
        connection.execute(
            sa.update(members)
            .where(members.c.id == member_id)
            .values(level=given[winner], sources={**sources, "level": winner})
        )


def upgrade() -> None:
    _recompute(NEW)


def downgrade() -> None:
    _recompute(OLD)
