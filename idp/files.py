"""Files at rest are private: database, WAL, writer lock, keys and outbox 0600, their folders 0700.

A served provider sets the umask to 077 when it starts, so whatever it or a library creates later
(SQLite's -wal and -shm, a rotated key, a log) is private without each call site remembering.
At start it also names, as warnings, files an operator left looser and a data folder it cannot
write to (a read-only mount starts, then answers 503 to every write: the warning says why).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from idp.settings import Settings

PRIVATE_UMASK = 0o077
# Nobody but the owner: group and other bits set on any of these is a warning.
_LOOSE = stat.S_IRWXG | stat.S_IRWXO


def keep_private() -> None:
    """Files and folders created from now on by this process (and the workers it spawns) are private."""
    os.umask(PRIVATE_UMASK)


def _sqlite_file(settings: Settings) -> Path | None:
    url = settings.effective_database_url
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///"))


def _watched(settings: Settings) -> list[Path]:
    paths = [settings.keys_dir, *sorted(settings.keys_dir.glob("*"))] if settings.keys_dir.is_dir() else []
    database = _sqlite_file(settings)
    if database is not None:
        folder = database.parent
        paths += [folder, *(folder / f"{database.name}{suffix}" for suffix in ("", "-wal", "-shm", "-writer"))]
        paths.append(folder / "outbox.jsonl")
    return [p for p in paths if p.exists()]


def loose_permissions(settings: Settings) -> list[str]:
    """One line per database, key or outbox file (or their folder) that group or others may read."""
    found = []
    for path in _watched(settings):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & _LOOSE:
            wanted = 0o700 if path.is_dir() else 0o600
            found.append(f"{path} is mode {mode:04o}, looser than {wanted:04o}: chmod {wanted:o} {path}")
    return found


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY) or not os.access(path, os.W_OK)
    except OSError:
        return False


def read_only_storage(settings: Settings) -> list[str]:
    """The SQLite data folder or file when the provider cannot write to it."""
    database = _sqlite_file(settings)
    if database is None:
        return []
    return [
        f"{path} is read-only: every write will be answered 503 and /readyz stays 503 until it is writable"
        for path in (database.parent, database)
        if path.exists() and _read_only(path)
    ][:1]


def storage_warnings(settings: Settings) -> list[str]:
    return read_only_storage(settings) + loose_permissions(settings)
