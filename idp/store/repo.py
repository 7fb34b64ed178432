"""`Store`: the one object the core holds to reach the database."""

from __future__ import annotations

from sqlalchemy import Engine, text

from idp.store.accounts import Citizens, Clients
from idp.store.db import make_engine, migrate
from idp.store.factors import Authenticators, Challenges, RecoveryCodes
from idp.store.flows import Flows
from idp.store.grants import Grants, RefreshTokens, RevokedTokens
from idp.store.limits import AuthFailures, RateCounters
from idp.store.outbox import OutboxRepository
from idp.store.replay import PushedRequests, UsedJtis
from idp.store.sessions import BrowserSessions, Consents, Interactions
from idp.store.audit import AuditLog
from idp.store.console import CitizenDirectory, ClientDirectory
from idp.store.staff import StaffSessions, StaffUsers
from idp.store.verification import Verifications


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.citizens = Citizens(engine)
        self.clients = Clients(engine)
        self.sessions = BrowserSessions(engine)
        self.interactions = Interactions(engine)
        self.consents = Consents(engine)
        self.grants = Grants(engine)
        self.refresh_tokens = RefreshTokens(engine)
        self.revoked_tokens = RevokedTokens(engine)
        self.flows = Flows(engine)
        self.challenges = Challenges(engine)
        self.authenticators = Authenticators(engine)
        self.recovery_codes = RecoveryCodes(engine)
        self.failures = AuthFailures(engine)
        self.counters = RateCounters(engine)
        self.outbox = OutboxRepository(engine)
        self.used_jtis = UsedJtis(engine)
        self.pushed_requests = PushedRequests(engine)
        self.staff = StaffUsers(engine)
        self.staff_sessions = StaffSessions(engine)
        self.audit = AuditLog(engine)
        self.verifications = Verifications(engine)
        self.citizen_directory = CitizenDirectory(engine)
        self.client_directory = ClientDirectory(engine)

    @classmethod
    def open(cls, url: str) -> Store:
        return cls(make_engine(url))

    def migrate(self) -> None:
        migrate(self.engine)

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1

    def close(self) -> None:
        self.engine.dispose()
