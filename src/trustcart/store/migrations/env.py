"""Alembic environment: uses the engine passed by ``trustcart.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from trustcart.store.tables import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only via trustcart.store.migrate
    raise RuntimeError("run migrations through trustcart.store.migrate (or `trustcart db upgrade`)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
