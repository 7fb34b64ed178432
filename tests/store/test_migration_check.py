"""A database already at the newest revision is recognised without Alembic, so a serving process
never loads it; any other database is still upgraded by Alembic."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import inspect

from idp.store.engine import at_newest_revision, make_engine, migrate, newest_revision


def test_the_newest_revision_read_from_the_files_is_alembics_head():
    from alembic.script import ScriptDirectory

    from idp.store.engine import alembic_config

    engine = make_engine("sqlite://")

    assert newest_revision() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def test_a_migrated_database_is_at_the_newest_revision_and_an_empty_one_is_not(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")

    before = at_newest_revision(engine)
    migrate(engine)

    assert before is False
    assert at_newest_revision(engine) is True


def test_a_database_one_revision_behind_is_upgraded(provider):
    from alembic import command

    from idp.store.engine import alembic_config

    engine = provider.store.engine
    tables = set(inspect(engine).get_table_names())
    command.downgrade(alembic_config(engine), "-1")  # the newest migration undone, whichever it is

    stale = at_newest_revision(engine)
    migrate(engine)

    assert stale is False
    assert at_newest_revision(engine) is True
    assert set(inspect(engine).get_table_names()) == tables


def test_starting_against_a_migrated_database_never_loads_alembic(settings):
    migrate(make_engine(settings.effective_database_url))
    script = (
        "import sys; from idp.store.engine import make_engine, migrate; "
        f"migrate(make_engine({settings.effective_database_url!r})); print('alembic' in sys.modules)"
    )

    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "False"
