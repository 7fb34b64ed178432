"""How dates, times and assurance levels read to a person on our pages.

Citizens read dates day first (29/11/2026) and times on the clock they live by, never UTC nor the
ISO form the core and the portals exchange; a level is what was checked, in words, with its number
kept so a portal's "mức 2" and ours agree. The core keeps epochs, ISO dates and `LoA1`/`LoA2`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from idp.i18n import t

LEVELS = ("LoA1", "LoA2")


def day_text(value: date | str) -> str:
    """A calendar date as dd/mm/yyyy; an ISO string that is not a date is shown as it came."""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def local_time(epoch: int | float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC).astimezone(zone)


def moment_text(epoch: int | float, zone: ZoneInfo) -> str:
    """An instant as dd/mm/yyyy HH:MM on the service's clock (24-hour, as Vietnamese write it)."""
    return local_time(epoch, zone).strftime("%d/%m/%Y %H:%M")


def moment_iso(epoch: int | float, zone: ZoneInfo) -> str:
    """The same instant for `<time datetime=…>`: machines read the offset, people the text."""
    return local_time(epoch, zone).isoformat(timespec="minutes")


def level_text(lang: str, level: str) -> str:
    """`LoA2` → "Đã xác minh danh tính (mức 2)"; an unknown level is shown as it is."""
    return t(lang, f"level.{level}") if level in LEVELS else level
