"""Reads on the back channel's hot path, run on the connection's own DB-API cursor.

Userinfo, the code exchange and the refresh each start with one read (a token with its grant and
citizen). SQLAlchemy's work around every execution (the statement's cache key, the compiled
form's lookup, parameter processing, a result object and its rows) cost several times what the
read itself costs on SQLite: a fifth of a code exchange. A `RawRead` compiles its statement once
per database, as text, and runs it on the pooled connection's own cursor, inside the open unit
when there is one (`Database.connect`); PostgreSQL prepares it once it has run five times on a
connection, as it does every statement (`engine.PREPARE_THRESHOLD`). Values come back as the
driver gives them, except booleans, which SQLite gives as 0 and 1 and which are turned into bool
here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.exc import DBAPIError

from idp.store.database import Database


def _is_boolean(column: Any) -> bool:
    try:
        return column.type.python_type is bool
    except NotImplementedError:  # a type without a Python counterpart: never a boolean here
        return False


def fetch_first(conn: Connection, sql: str, params: Any) -> tuple[Any, ...] | None:
    """The first row of `sql` on `conn`'s own cursor. A driver error becomes SQLAlchemy's usual
    DBAPIError, as SQLAlchemy would raise it (a dead connection leaves the pool first), so the
    fault boundary tells an outage (503) from a defect (500)."""
    proxied = conn.connection
    cursor = proxied.cursor()
    # The connection's own dialect: psycopg's asyncio connections (`Database.run_unit`) have their
    # own DB-API module.
    driver_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    try:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    except driver_error as exc:
        lost = conn.dialect.is_disconnect(exc, proxied.dbapi_connection, cursor)  # type: ignore[arg-type]
        if lost:
            conn.invalidate()
        raise DBAPIError.instance(
            sql, params, exc, driver_error, hide_parameters=True, connection_invalidated=lost
        ) from exc
    finally:
        with contextlib.suppress(Exception):
            cursor.close()
    return tuple(row) if row is not None else None


class RawRead:
    """One SELECT, compiled for `db`'s dialect once. `row(**params)` gives its first row as a
    tuple, or None; `first(**params)` as a mapping of the selected columns' names (labels), for a
    statement whose names are unique."""

    def __init__(self, statement: Select[Any], db: Database) -> None:
        compiled = statement.compile(dialect=db.dialect)
        self._db = db
        self.sql = compiled.string
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._constants = dict(compiled.params)  # values the statement holds itself (`status == "active"`)
        columns = list(statement.selected_columns)
        self.names = tuple(str(column.key) for column in columns)
        self._names_unique = len(set(self.names)) == len(self.names)
        self._booleans = tuple(i for i, column in enumerate(columns) if _is_boolean(column))

    def _params(self, given: Mapping[str, Any]) -> Any:
        values = {**self._constants, **given}
        return tuple(values[name] for name in self._order) if self._order is not None else values

    def row(self, on: Connection | None = None, /, **params: Any) -> tuple[Any, ...] | None:
        """On `on` when given (a connection already in the caller's transaction), else on the open
        unit's connection or a pooled one (`Database.connect`)."""
        if on is not None:
            found = fetch_first(on, self.sql, self._params(params))
        else:
            with self._db.connect() as conn:
                found = fetch_first(conn, self.sql, self._params(params))
        if found is None or not self._booleans:
            return found
        values = list(found)
        for i in self._booleans:
            if values[i] is not None:
                values[i] = bool(values[i])
        return tuple(values)

    def first(self, on: Connection | None = None, /, **params: Any) -> dict[str, Any] | None:
        if not self._names_unique:
            raise TypeError("the statement selects two columns of one name: read it by position (row)")
        found = self.row(on, **params)
        return dict(zip(self.names, found, strict=True)) if found is not None else None
