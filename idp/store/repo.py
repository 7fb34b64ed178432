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
from idp.store.sessions import BrowserSessions, Consents, Interactions


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
