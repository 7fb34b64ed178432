"""`Store`: the one object the core holds to reach the database."""

from __future__ import annotations

from contextlib import AbstractContextManager as ContextManager

from sqlalchemy import Engine, text

from idp.clock import Clock, SystemClock
from idp.store.access_reads import AccessTokenReads
from idp.store.audit import AuditLog
from idp.store.citizens import Citizens
from idp.store.clients import Clients
from idp.store.database import Database
from idp.store.devices import KnownDevices
from idp.store.directories import CitizenDirectory, ClientDirectory
from idp.store.engine import make_engine, migrate
from idp.store.factors import Authenticators, Challenges, RecoveryCodes
from idp.store.faults import StorageFaults
from idp.store.flows import Flows
from idp.store.grants import Grants, RefreshTokens, RevokedTokens
from idp.store.limits import AttemptBudgets, AuthFailures, RateCounters
from idp.store.outbox import OutboxRepository, Sealer
from idp.store.passkeys import Passkeys
from idp.store.replay import PushedRequests, UsedJtis
from idp.store.sessions import BrowserSessions, Consents, Interactions
from idp.store.staff import StaffSessions, StaffUsers
from idp.store.verification import Verifications


class Store:
    def __init__(self, engine: Engine, clock: Clock | None = None, sealer: Sealer | None = None) -> None:
        """`clock` times the caches kept in the process (the provider's, so tests can move it);
        `sealer` seals what the outbox holds (without one, nothing can be queued)."""
        self.engine = engine
        self.db = db = Database(engine)
        self.faults = StorageFaults(lambda: self.engine)
        self.citizens = Citizens(db)
        self.clients = Clients(db, clock or SystemClock())
        self.sessions = BrowserSessions(db)
        self.interactions = Interactions(db)
        self.consents = Consents(db)
        self.grants = Grants(db)
        self.access_reads = AccessTokenReads(db)
        self.refresh_tokens = RefreshTokens(db)
        self.revoked_tokens = RevokedTokens(db)
        self.flows = Flows(db)
        self.challenges = Challenges(db)
        self.authenticators = Authenticators(db)
        self.recovery_codes = RecoveryCodes(db)
        self.passkeys = Passkeys(db)
        self.failures = AuthFailures(db)
        self.counters = RateCounters(db)
        self.budgets = AttemptBudgets(db)
        self.devices = KnownDevices(db)
        self.outbox = OutboxRepository(db, sealer)
        self.used_jtis = UsedJtis(db)
        self.pushed_requests = PushedRequests(db)
        self.staff = StaffUsers(db)
        self.staff_sessions = StaffSessions(db)
        self.audit = AuditLog(db)
        self.verifications = Verifications(db)
        self.citizen_directory = CitizenDirectory(db)
        self.client_directory = ClientDirectory(db, self.clients)

    @classmethod
    def open(cls, url: str, clock: Clock | None = None, sealer: Sealer | None = None) -> Store:
        return cls(make_engine(url), clock, sealer)

    def migrate(self) -> None:
        migrate(self.engine)

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1

    def unit_of_work(self) -> ContextManager[None]:
        """One connection and one transaction for every store call in the block (see `Database`)."""
        return self.db.unit_of_work()

    def close(self) -> None:
        self.engine.dispose()
        self.db.close()
