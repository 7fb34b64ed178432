"""One-time code challenges, authenticator (TOTP) factors and recovery codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from idp.store.database import Database
from idp.store.raw_reads import RawRead
from idp.store.tables import AnyRow, OtpChallenge, RecoveryCode, TotpFactor, table_of

_challenge = table_of(OtpChallenge)
_totp = table_of(TotpFactor)
# Read on every password login (is a second factor owed?): built once, with a bind parameter.
_GET_TOTP = select(_totp).where(_totp.c.citizen_id == bindparam("p_citizen_id"))
_recovery = table_of(RecoveryCode)


@dataclass(frozen=True)
class ChallengeRecord:
    id: str
    citizen_id: str
    purpose: str
    channel: str
    destination: str
    flow_id: str
    code_digest: str
    attempts: int
    expires_at: int
    consumed_at: int | None


def _challenge_record(row: AnyRow) -> ChallengeRecord:
    return ChallengeRecord(
        id=row.id,
        citizen_id=row.citizen_id,
        purpose=row.purpose,
        channel=row.channel,
        destination=row.destination,
        flow_id=row.flow_id,
        code_digest=row.code_digest,
        attempts=row.attempts,
        expires_at=row.expires_at,
        consumed_at=row.consumed_at,
    )


@dataclass(frozen=True)
class TotpRecord:
    citizen_id: str
    secret_sealed: str
    confirmed_at: int | None
    last_step: int | None


class Challenges:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, *, write: bool = True, **values: Any) -> None:
        """Store a new challenge and void the flow's earlier ones for the same purpose (a resend
        replaces the code; only the newest can be used). With `write` false the same statements run
        and nothing is stored (a decoy, for a code that is never sent)."""
        with self._db.begin() as conn:
            conn.execute(
                update(_challenge)
                .where(
                    _challenge.c.flow_id == values["flow_id"],
                    _challenge.c.purpose == values["purpose"],
                    _challenge.c.consumed_at.is_(None),
                )
                .values(consumed_at=values["created_at"])
            )
            conn.execute(self._db.insert_if(_challenge, dict(values, attempts=0, consumed_at=None), write))

    def live_for_flow(self, flow_id: str, purpose: str, now: int) -> ChallengeRecord | None:
        with self._db.connect() as conn:
            row = conn.execute(
                select(_challenge)
                .where(
                    _challenge.c.flow_id == flow_id,
                    _challenge.c.purpose == purpose,
                    _challenge.c.consumed_at.is_(None),
                    _challenge.c.expires_at > now,
                )
                .order_by(_challenge.c.created_at.desc())
                .limit(1)
            ).first()
        return _challenge_record(row) if row else None

    def take_attempt(self, challenge_id: str, now: int, max_attempts: int) -> ChallengeRecord | None:
        """Spend one try before comparing: of N parallel guesses at most `max_attempts` are ever
        compared. None when the challenge is used, expired or out of tries."""
        with self._db.begin() as conn:
            row = conn.execute(
                update(_challenge)
                .where(
                    _challenge.c.id == challenge_id,
                    _challenge.c.consumed_at.is_(None),
                    _challenge.c.expires_at > now,
                    _challenge.c.attempts < max_attempts,
                )
                .values(attempts=_challenge.c.attempts + 1)
                .returning(*_challenge.c)
            ).first()
        return _challenge_record(row) if row else None

    def consume(self, challenge_id: str, now: int) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_challenge)
                .where(_challenge.c.id == challenge_id, _challenge.c.consumed_at.is_(None))
                .values(consumed_at=now)
            )
        return result.rowcount == 1


class Authenticators:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._get = RawRead(_GET_TOTP, db)  # every password login asks whether a second factor is owed

    def get(self, citizen_id: str) -> TotpRecord | None:
        row = self._get.first(p_citizen_id=citizen_id)
        return (
            TotpRecord(row["citizen_id"], row["secret_sealed"], row["confirmed_at"], row["last_step"]) if row else None
        )

    def start_enrolment(self, citizen_id: str, secret_sealed: str, now: int) -> None:
        """A new, unconfirmed secret; replaces an earlier unconfirmed one, never a confirmed one."""
        with self._db.begin() as conn:
            conn.execute(delete(_totp).where(_totp.c.citizen_id == citizen_id, _totp.c.confirmed_at.is_(None)))
            conn.execute(
                _totp.insert().values(
                    citizen_id=citizen_id,
                    secret_sealed=secret_sealed,
                    created_at=now,
                    confirmed_at=None,
                    last_step=None,
                )
            )

    def accept_step(self, citizen_id: str, step: int, now: int, confirm: bool = False) -> bool:
        """Record `step` as used; False when it (or a later one) was already used, so a code is
        never accepted twice, even by two racing requests."""
        values: dict[str, object] = {"last_step": step}
        if confirm:
            values["confirmed_at"] = now
        with self._db.begin() as conn:
            result = conn.execute(
                update(_totp)
                .where(_totp.c.citizen_id == citizen_id, (_totp.c.last_step.is_(None)) | (_totp.c.last_step < step))
                .values(**values)
            )
        return result.rowcount == 1


class RecoveryCodes:
    def __init__(self, db: Database) -> None:
        self._db = db

    def replace(self, citizen_id: str, digests: list[str], now: int) -> None:
        """A new set voids the old one."""
        with self._db.begin() as conn:
            conn.execute(delete(_recovery).where(_recovery.c.citizen_id == citizen_id))
            conn.execute(
                _recovery.insert(),
                [{"code_digest": d, "citizen_id": citizen_id, "created_at": now, "used_at": None} for d in digests],
            )

    def use(self, citizen_id: str, digest: str, now: int) -> bool:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_recovery)
                .where(
                    _recovery.c.code_digest == digest,
                    _recovery.c.citizen_id == citizen_id,
                    _recovery.c.used_at.is_(None),
                )
                .values(used_at=now)
            )
        return result.rowcount == 1

    def remaining(self, citizen_id: str) -> int:
        with self._db.connect() as conn:
            rows = conn.execute(
                select(_recovery.c.code_digest).where(
                    _recovery.c.citizen_id == citizen_id, _recovery.c.used_at.is_(None)
                )
            ).all()
        return len(rows)
