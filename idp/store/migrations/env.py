"""Alembic environment: runs against the engine handed over in `config.attributes`."""

from alembic import context
from sqlmodel import SQLModel

from idp.store import (  # noqa: F401  (staff, audit and desk tables)
    audit,
    directories,
    outbox,
    staff,
    tables,
    verification,
)

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
