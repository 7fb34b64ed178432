"""Reads run on the connection's own cursor (`RawRead`) give what SQLAlchemy's execute gives."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select

from idp.store.raw_reads import RawRead
from idp.store.tables import Citizen, table_of
from tests.helpers import add_citizen

_citizen = table_of(Citizen)


def test_a_raw_read_gives_the_row_sqlalchemy_gives_with_booleans_as_bool(provider):
    citizen, _ = add_citizen(provider)
    statement = select(_citizen, (_citizen.c.status == "active").label("active")).where(
        _citizen.c.id == bindparam("p_id")
    )
    with provider.store.engine.connect() as conn:
        expected = dict(conn.execute(statement, {"p_id": citizen.id}).one()._mapping)

    found = RawRead(statement, provider.store.db).first(p_id=citizen.id)

    assert found == expected
    assert found is not None and found["active"] is True
    booleans = [name for name, column in _citizen.c.items() if column.type.python_type is bool]
    assert booleans and all(type(found[name]) is bool for name in booleans)
    assert RawRead(statement, provider.store.db).first(p_id="nobody") is None


def test_a_raw_read_of_two_columns_of_one_name_is_read_by_position(provider):
    citizen, _ = add_citizen(provider)
    statement = select(_citizen.c.id.label("x"), _citizen.c.status.label("x")).where(_citizen.c.id == bindparam("p_id"))
    read = RawRead(statement, provider.store.db)

    with pytest.raises(TypeError):
        read.first(p_id=citizen.id)
    assert read.row(p_id=citizen.id) == (citizen.id, "active")
