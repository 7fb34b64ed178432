"""The operations commands of `idp`: `db upgrade`, `db check` and `housekeeping`.

`cli.py` calls `add_commands` while building its parser and `run` for these commands. Output
is JSON; the exit status is what a deploy script branches on.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from idp.settings import Settings

# `idp db check` exit statuses
CHECK_CURRENT = 0  # the schema is what this code expects
CHECK_BEHIND = 1  # run `idp db upgrade` before this code serves
CHECK_AHEAD = 3  # the database has newer migrations (an expand step ran): old code may keep serving


def add_commands(commands: Any) -> None:
    db = commands.add_parser("db", help="schema migrations (Alembic)").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="upgrade the schema to this code's newest migration (idempotent); prints JSON")
    db.add_parser(
        "check",
        help="compare the schema with this code: exit 0 current, 1 behind (upgrade), "
        "3 ahead (a newer expand step ran); prints JSON",
    )
    housekeeping = commands.add_parser(
        "housekeeping", help="prune expired codes, sessions, tokens, counters and finished outbox messages; prints JSON"
    )
    housekeeping.add_argument("--dry-run", action="store_true", help="only count the rows in each table")


def handles(command: str) -> bool:
    return command in ("db", "housekeeping")


def _print(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def run(settings: Settings, args: argparse.Namespace) -> int:
    from idp.store.repositories import Store
    from idp.store.schema_status import AHEAD, BEHIND, EMPTY, status

    if args.command == "db":
        if settings.effective_database_url.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store.open(settings.effective_database_url)
        try:
            if args.action == "upgrade":
                before = status(store.engine)
                store.migrate()
                after = status(store.engine)
                _print({"upgraded_from": list(before.database), "now": list(after.database), "state": after.state})
                return 0
            found = status(store.engine)
            _print(found.as_dict())
            if found.state in (BEHIND, EMPTY) or found.drift:
                return CHECK_BEHIND
            return CHECK_AHEAD if found.state == AHEAD else CHECK_CURRENT
        finally:
            store.close()
    # housekeeping
    from idp.bootstrap import open_provider
    from idp.housekeeping import Housekeeper

    provider = open_provider(settings)
    try:
        keeper = Housekeeper(provider)
        if args.dry_run:
            _print({"rows": keeper.repo.counts()})
        else:
            _print({"pruned": keeper.run_once()})
        return 0
    finally:
        provider.store.close()
