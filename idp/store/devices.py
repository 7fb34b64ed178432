"""Known devices (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): which browsers
once logged in to which account, by the digest of their device cookie."""

from __future__ import annotations

from sqlalchemy import select, update

from idp.store.database import Database
from idp.store.tables import KnownDevice, table_of

_device = table_of(KnownDevice)


class KnownDevices:
    def __init__(self, db: Database) -> None:
        self._db = db

    def is_known(self, subject: str, cookie_digest: str, since: int) -> bool:
        """Whether the cookie logged in to `subject` and was last used after `since`."""
        with self._db.connect() as conn:
            row = conn.execute(
                select(_device.c.last_used_at).where(
                    _device.c.subject == subject,
                    _device.c.cookie_digest == cookie_digest,
                    _device.c.last_used_at > since,
                )
            ).first()
        return row is not None

    def remember(self, subject: str, cookie_digest: str, now: int) -> None:
        """Record a successful login from the device (again: it moves `last_used_at`)."""
        with self._db.begin() as conn:
            updated = conn.execute(
                update(_device)
                .where(_device.c.subject == subject, _device.c.cookie_digest == cookie_digest)
                .values(last_used_at=now)
            ).rowcount
            if not updated:
                conn.execute(
                    self._db.insert_or_skip(_device).values(
                        subject=subject, cookie_digest=cookie_digest, created_at=now, last_used_at=now
                    )
                )
