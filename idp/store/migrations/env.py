"""Alembic environment: runs against the engine handed over in `config.attributes`."""

from alembic import context
from sqlmodel import SQLModel

from idp.store import tables  # noqa: F401  (registers the tables on the metadata)
from idp.store import outbox  # noqa: F401  (registers the outbox table on the metadata)
from idp.store import audit, console, staff, verification  # noqa: F401  (staff, audit and desk tables)

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
