"""Alembic environment: runs on the engine handed over by hygie.db (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from hygie.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
