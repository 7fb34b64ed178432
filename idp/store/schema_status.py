"""Where a database's schema stands against this code's migrations (`idp db check`).

The rule for changes without downtime is expand → deploy → contract (README, "Production"):
a migration only adds (tables, nullable columns, indexes) so the running code keeps working;
then the new code is deployed everywhere; a later migration removes what no code reads any
more. So a database may be *ahead* of a process during a rollout, and that is fine; a database
*behind* the code must be upgraded before the code serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlmodel import SQLModel

from idp.store import outbox, tables  # noqa: F401  (registers the tables on the metadata)
from idp.store.engine import alembic_config

CURRENT = "current"
BEHIND = "behind"
AHEAD = "ahead"
EMPTY = "empty"


@dataclass(frozen=True)
class SchemaStatus:
    state: str  # current | behind | ahead | empty
    database: tuple[str, ...]
    code: tuple[str, ...]
    pending: tuple[str, ...] = ()
    drift: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "database_revisions": list(self.database),
            "code_heads": list(self.code),
            "pending": list(self.pending),
            "drift": list(self.drift),
        }


def _describe(diff: Any) -> str:
    if isinstance(diff, tuple) and diff:
        parts = [str(diff[0])]
        for item in diff[1:]:
            name = getattr(item, "name", None)
            parts.append(str(name) if name else type(item).__name__ if not isinstance(item, str) else item)
        return " ".join(parts)
    return str(diff)


def status(engine: Engine) -> SchemaStatus:
    script = ScriptDirectory.from_config(alembic_config(engine))
    heads = tuple(sorted(script.get_heads()))
    known = {rev.revision for rev in script.walk_revisions()}
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        current = tuple(sorted(context.get_current_heads()))
        if not current:
            return SchemaStatus(EMPTY, current, heads, pending=tuple(r.revision for r in script.walk_revisions()))
        if any(rev not in known for rev in current):
            return SchemaStatus(AHEAD, current, heads)
        if current == heads:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), SQLModel.metadata)
            return SchemaStatus(CURRENT, current, heads, drift=tuple(_describe(d) for d in diffs))
    pending = tuple(rev.revision for rev in script.iterate_revisions(heads, current))
    return SchemaStatus(BEHIND, current, heads, pending=pending)
