"""Bringing a provider up: folders, schema, keys, and the `Provider` the app runs on."""

from __future__ import annotations

import logging

from idp.clock import Clock, SystemClock
from idp.core import policy
from idp.core.provider import Provider
from idp.core.registry import NoRegistry, PopulationRegistry
from idp.crypto.keys import SIGNING_ALGS, ensure_keys, load_keys
from idp.crypto.passwords import PROFILES, PasswordHasher
from idp.crypto.randomness import RandomSource, SystemRandom
from idp.crypto.sealing import SecretBox
from idp.delivery.client_jwks import JwksFetcher
from idp.delivery.registry import HttpRegistry
from idp.runtime import give_back_free_memory
from idp.settings import Settings
from idp.store.engine import make_engine, migrate
from idp.store.repositories import Store

log = logging.getLogger("idp")


def initialise(settings: Settings) -> list[str]:
    """Create the data folder, upgrade the schema, generate missing keys. Idempotent.

    Returns the key files it generated, so callers can say so loudly.
    """
    if settings.effective_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The schema needs an engine alone: a `Store` would build every repository's statements for nothing.
    engine = make_engine(settings.effective_database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    generated = ensure_keys(settings.keys_dir)
    SecretBox.load_or_create(settings.keys_dir)
    return generated


def open_provider(
    settings: Settings,
    *,
    clock: Clock | None = None,
    rng: RandomSource | None = None,
) -> Provider:
    keys = load_keys(settings.keys_dir)
    for alg in SIGNING_ALGS:
        keys.signer(alg)  # fail at start-up, not at the first token, when a key is missing
    clock = clock or SystemClock()
    secrets = SecretBox.load_or_create(settings.keys_dir)
    return Provider(
        settings=settings,
        clock=clock,
        rng=rng or SystemRandom(),
        store=Store.open(settings.effective_database_url, clock, secrets),
        keys=keys,
        passwords=PasswordHasher(
            PROFILES[settings.password_profile], settings.password_workers, when_idle=give_back_free_memory
        ),
        secrets=secrets,
        client_jwks=JwksFetcher(
            clock,
            cache_seconds=policy.JWKS_CACHE_SECONDS,
            refetch_at_most_every=policy.JWKS_REFETCH_AT_MOST_EVERY,
            timeout=policy.JWKS_FETCH_TIMEOUT,
            max_bytes=policy.MAX_JWKS_BYTES,
            allow_private=settings.outbound_allow_private,
        ),
        registry=population_registry(settings),
    )


def population_registry(settings: Settings) -> PopulationRegistry:
    if settings.registry_backend == "http":
        return HttpRegistry(
            settings.registry_url,
            settings.registry_token,
            timeout=settings.registry_timeout,
            max_bytes=policy.MAX_REGISTRY_ANSWER_BYTES,
        )
    return NoRegistry()


def development_warnings(settings: Settings) -> list[str]:
    warnings = []
    if not settings.secure_cookies:
        warnings.append(f"the issuer {settings.issuer} is plain http: cookies are not Secure")
    if settings.effective_database_url.startswith("sqlite"):
        warnings.append("the database is embedded SQLite; use PostgreSQL (IDP_DATABASE_URL) in production")
    if settings.sms_backend == "console" or settings.email_backend == "console":
        warnings.append("codes are delivered to the console and outbox.jsonl in the data folder, not to phones")
    if settings.outbound_allow_private:
        warnings.append(
            "IDP_OUTBOUND_ALLOW_PRIVATE=true: portal jwks_uri and back-channel logout URIs may reach internal addresses"
        )
    if settings.password_profile == "tests":
        warnings.append("IDP_PASSWORD_PROFILE=tests: passwords are hashed with test-only parameters")
    return warnings
