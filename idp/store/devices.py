"""Known devices (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): which browsers
once logged in to which account, by the digest of their device cookie."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from idp.store.database import Database, by_dialect
from idp.store.raw_reads import RawRead
from idp.store.tables import KnownDevice, table_of

_device = table_of(KnownDevice)

# Both run on every password login: built once, with bind parameters.
_IS_KNOWN = select(_device.c.last_used_at).where(
    _device.c.subject == bindparam("p_subject"),
    _device.c.cookie_digest == bindparam("p_digest"),
    _device.c.last_used_at > bindparam("p_since"),
)
# One upsert, where an UPDATE and then (for a new device, as every first login is) an INSERT were two.
_REMEMBER = by_dialect(
    lambda insert: (
        insert(_device)
        .values(
            subject=bindparam("p_subject"),
            cookie_digest=bindparam("p_digest"),
            created_at=bindparam("p_now"),
            last_used_at=bindparam("p_now"),
        )
        .on_conflict_do_update(index_elements=["subject", "cookie_digest"], set_={"last_used_at": bindparam("p_now")})
    )
)


class KnownDevices:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._is_known = RawRead(_IS_KNOWN, db)

    def is_known(self, subject: str, cookie_digest: str, since: int) -> bool:
        """Whether the cookie logged in to `subject` and was last used after `since`."""
        return self._is_known.row(p_subject=subject, p_digest=cookie_digest, p_since=since) is not None

    def remember(self, subject: str, cookie_digest: str, now: int) -> None:
        """Record a successful login from the device (again: it moves `last_used_at`)."""
        with self._db.begin() as conn:
            conn.execute(_REMEMBER[conn.dialect.name], {"p_subject": subject, "p_digest": cookie_digest, "p_now": now})
