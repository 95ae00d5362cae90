"""What the bench scripts share: a PostgreSQL schema of a run's own, dropped afterwards.

Imported by the scripts beside it (`python bench/<script>.py` puts this directory first on
the path)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text

from bot.storage.db import dispose_engines


def postgres_schema(url: str, prefix: str = "bench") -> tuple[str, Callable[[], None]]:
    """A fresh schema in the database at `url`: its URL, and a function that drops it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        dispose_engines()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", drop
