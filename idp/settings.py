"""Every setting the provider reads, its default and what it is for.

Settings come from `IDP_*` environment variables and are validated once, at
start-up, so a typo stops the process with the setting's name instead of
surfacing as a strange failure in the middle of a login. Nothing else in the
package reads the environment.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from idp.core.policy import (
    INTERACTIONS_OVERALL,
    INTERACTIONS_PER_ADDRESS,
    REGISTRY_TIMEOUT,
    SMS_GLOBAL_HOURLY_BUDGET,
    SMS_PREFIX_HOURLY_BUDGET,
    VERIFICATION_RECORD_MAX_AGE,
)
from idp.errors import SettingsError

PASSWORD_PROFILES = ("owasp", "rfc9106-low-memory", "tests")


def _spec(env: str, doc: str, parse: Callable[[str], Any] | None = None) -> dict[str, Any]:
    return {"env": env, "doc": doc, "parse": parse}


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _seconds_between(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"must be a number of seconds, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    return parse


def _path(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("must not be empty")
    return Path(raw).expanduser()


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


def _url(raw: str) -> str:
    if raw == "":
        return raw
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"must be an absolute URL, got {raw!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("must use https unless the host is loopback")
    return raw


def _zone(raw: str) -> str:
    """An IANA time zone name that this machine (or the tzdata package) knows."""
    name = raw.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must be an IANA time zone name such as Asia/Ho_Chi_Minh, got {raw!r}") from None
    return name


def _text(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw.strip()


def _help_phone(raw: str) -> str:
    """A number people dial: digits with spaces, dots or dashes, an optional leading +."""
    value = raw.strip()
    if not re.fullmatch(r"\+?[0-9][0-9 .\-]{2,20}", value):
        raise ValueError(f"must be a phone number such as 1900 54 54 81, got {raw!r}")
    return value


def _listen_address(raw: str) -> str:
    """HOST:PORT (IPv6 in brackets) to listen on, or empty for none."""
    if raw.strip() == "":
        return ""
    host, sep, port = raw.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"must be HOST:PORT (e.g. 127.0.0.1:9464) or empty, got {raw!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ValueError(f"the host must be an IP address or localhost, got {host!r}") from None
    return raw.strip()


def _proxies(raw: str) -> str:
    items = [item.strip() for item in raw.split(",") if item.strip()]
    for item in items:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
    return ",".join(items)


def is_loopback_host(host: str | None) -> bool:
    """Loopback is the only place plain http is tolerated (development)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Anything but a globally routable unicast address: loopback, private, link-local, unspecified,
    multicast, reserved, shared (CGNAT) and the rest; what outbound requests to portals may not reach."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return is_internal(mapped)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or not address.is_global
    )


def literal_internal_host(host: str | None) -> bool:
    """True when `host` is an IP literal that is internal; names are judged when they resolve."""
    if not host:
        return False
    try:
        return is_internal(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return host.lower() == "localhost" or host.lower().endswith(".localhost")


def parse_issuer(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"must be an absolute https URL, got {raw!r}")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment (OIDC Discovery §3)")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("must use https unless the host is loopback (127.0.0.1, ::1, localhost)")
    return raw.rstrip("/")


def _database_url(raw: str) -> str:
    scheme = raw.split(":", 1)[0]
    if scheme.startswith("postgres"):
        from idp.store.engine import prepare_threshold

        prepare_threshold(raw)  # ?prepare_threshold= is refused here, at start-up, not at the first connection
        return "postgresql+psycopg:" + raw.split(":", 1)[1] if "+" not in scheme else raw
    if scheme.startswith("sqlite"):
        return raw
    raise ValueError(f"must be a sqlite:/// or postgresql:// URL, got scheme {scheme!r}")


@dataclass(frozen=True)
class Settings:
    """The validated configuration; build it with `Settings.from_env()`."""

    issuer: str = field(
        default="http://localhost:8000",
        metadata=_spec(
            "IDP_ISSUER",
            "Issuer URL; every link the provider builds starts with it (never the Host header). "
            "Unset, `idp serve` uses http://localhost:PORT, still listening on 127.0.0.1 only "
            "(browsers refuse WebAuthn, so passkeys, on an IP-address origin).",
            parse_issuer,
        ),
    )
    data_dir: Path = field(
        default=Path("data"),
        metadata=_spec("IDP_DATA_DIR", "Folder for the embedded SQLite database and development outbox.", _path),
    )
    database_url: str = field(
        default="",
        metadata=_spec(
            "IDP_DATABASE_URL",
            "SQLAlchemy URL; empty means SQLite (WAL) in the data folder. PostgreSQL in production: "
            "a statement is prepared on the server once run five times; behind a pooler in transaction "
            "mode that cannot keep them (PgBouncer before 1.21), add ?prepare_threshold=none.",
            _database_url,
        ),
    )
    keys_dir: Path = field(
        default=Path("keys"),
        metadata=_spec("IDP_KEYS_DIR", "Folder of signing keys; generated on first start when empty.", _path),
    )
    code_ttl: int = field(
        default=60, metadata=_spec("IDP_CODE_TTL", "Authorization code lifetime, seconds.", _int_between(10, 600))
    )
    access_token_ttl: int = field(
        default=300,
        metadata=_spec("IDP_ACCESS_TOKEN_TTL", "Access token (JWT) lifetime, seconds.", _int_between(60, 3600)),
    )
    id_token_ttl: int = field(
        default=300, metadata=_spec("IDP_ID_TOKEN_TTL", "ID token lifetime, seconds.", _int_between(60, 3600))
    )
    refresh_token_ttl: int = field(
        default=30 * 86400,
        metadata=_spec(
            "IDP_REFRESH_TOKEN_TTL",
            "Absolute lifetime of a login's refresh tokens, seconds.",
            _int_between(300, 365 * 86400),
        ),
    )
    interaction_ttl: int = field(
        default=600,
        metadata=_spec(
            "IDP_INTERACTION_TTL",
            "How long a parked authorization request waits for login and consent, seconds.",
            _int_between(60, 3600),
        ),
    )
    interactions_per_address: int = field(
        default=INTERACTIONS_PER_ADDRESS,
        metadata=_spec(
            "IDP_INTERACTIONS_PER_ADDRESS",
            "Logins (parked authorization requests) one address (an IPv6 /64) may start per"
            " IDP_INTERACTION_TTL; past it /authorize answers temporarily_unavailable.",
            _int_between(1, 1_000_000),
        ),
    )
    interactions_overall: int = field(
        default=INTERACTIONS_OVERALL,
        metadata=_spec(
            "IDP_INTERACTIONS_OVERALL",
            "Logins all addresses together may start per IDP_INTERACTION_TTL (bounds the rows a flood makes).",
            _int_between(1, 10_000_000),
        ),
    )
    session_idle_ttl: int = field(
        default=1800,
        metadata=_spec("IDP_SESSION_IDLE_TTL", "Browser session idle timeout, seconds.", _int_between(60, 86400)),
    )
    session_max_ttl: int = field(
        default=12 * 3600,
        metadata=_spec(
            "IDP_SESSION_MAX_TTL", "Browser session absolute lifetime, seconds.", _int_between(300, 7 * 86400)
        ),
    )
    reauth_minutes: int = field(
        default=10,
        metadata=_spec(
            "IDP_REAUTH_MINUTES",
            "How long a login or re-authentication lets the citizen change phone, password, authenticator or"
            " recovery codes without typing the password (and second factor) again, minutes.",
            _int_between(1, 60),
        ),
    )
    clock_leeway: int = field(
        default=60,
        metadata=_spec(
            "IDP_CLOCK_LEEWAY", "Tolerance for clock skew when checking token times, seconds.", _int_between(0, 300)
        ),
    )
    password_profile: str = field(
        default="owasp",
        metadata=_spec(
            "IDP_PASSWORD_PROFILE",
            "argon2id parameters: owasp (19 MiB, t=2, p=1), rfc9106-low-memory "
            "(64 MiB, t=3, p=4), tests (cheap; never in production).",
            _choice(*PASSWORD_PROFILES),
        ),
    )
    password_workers: int = field(
        default=2,
        metadata=_spec(
            "IDP_PASSWORD_WORKERS",
            "Password hashes computed at once per process; bounds memory in a login storm.",
            _int_between(1, 64),
        ),
    )
    max_body_bytes: int = field(
        default=64 * 1024,
        metadata=_spec(
            "IDP_MAX_BODY_BYTES", "Largest request body accepted, bytes.", _int_between(1024, 10 * 1024 * 1024)
        ),
    )
    default_locale: str = field(
        default="vi",
        metadata=_spec(
            "IDP_DEFAULT_LOCALE", "Language of pages when the request names none (vi or en).", _choice("vi", "en")
        ),
    )
    jwks_max_age: int = field(
        default=300,
        metadata=_spec(
            "IDP_JWKS_MAX_AGE", "Cache-Control max-age of discovery and JWKS, seconds.", _int_between(0, 86400)
        ),
    )
    trusted_proxies: str = field(
        default="",
        metadata=_spec(
            "IDP_TRUSTED_PROXIES",
            "Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed "
            "(rate limits and the audit trail then see the citizen's address, not the proxy's); empty: none.",
            _proxies,
        ),
    )
    sms_backend: str = field(
        default="console",
        metadata=_spec(
            "IDP_SMS_BACKEND",
            "How SMS codes leave: console (development: log + outbox.jsonl) or http (a gateway).",
            _choice("console", "http"),
        ),
    )
    sms_gateway_url: str = field(
        default="",
        metadata=_spec(
            "IDP_SMS_GATEWAY_URL", "The SMS gateway's endpoint for JSON POSTs (with IDP_SMS_BACKEND=http).", _url
        ),
    )
    sms_gateway_token: str = field(
        default="", metadata=_spec("IDP_SMS_GATEWAY_TOKEN", "Bearer token for the SMS gateway.", str)
    )
    sms_brandname: str = field(
        default="PostID", metadata=_spec("IDP_SMS_BRANDNAME", "Registered brandname the SMS is sent from.", str)
    )
    sms_global_hourly_budget: int = field(
        default=SMS_GLOBAL_HOURLY_BUDGET,
        metadata=_spec(
            "IDP_SMS_GLOBAL_HOURLY_BUDGET",
            "SMS an hour, in all, to numbers no account has proven (registration, phone change); past it the "
            "SMS-pumping breaker holds them for the rest of the hour.",
            _int_between(1, 1_000_000),
        ),
    )
    sms_prefix_hourly_budget: int = field(
        default=SMS_PREFIX_HOURLY_BUDGET,
        metadata=_spec(
            "IDP_SMS_PREFIX_HOURLY_BUDGET",
            "SMS an hour to unproven numbers in one block of 1,000 (the number without its last 3 digits); "
            "past it the breaker holds that block for the rest of the hour.",
            _int_between(1, 100_000),
        ),
    )
    email_backend: str = field(
        default="console",
        metadata=_spec(
            "IDP_EMAIL_BACKEND", "How email leaves: console (development) or smtp.", _choice("console", "smtp")
        ),
    )
    smtp_host: str = field(default="127.0.0.1", metadata=_spec("IDP_SMTP_HOST", "SMTP server host.", str))
    smtp_port: int = field(default=25, metadata=_spec("IDP_SMTP_PORT", "SMTP server port.", _int_between(1, 65535)))
    smtp_starttls: bool = field(
        default=False,
        metadata=_spec("IDP_SMTP_STARTTLS", "Upgrade the SMTP connection with STARTTLS (true/false).", _bool),
    )
    smtp_username: str = field(default="", metadata=_spec("IDP_SMTP_USERNAME", "SMTP login, if any.", str))
    smtp_password: str = field(default="", metadata=_spec("IDP_SMTP_PASSWORD", "SMTP password, if any.", str))
    smtp_from: str = field(
        default="PostID <no-reply@postid.invalid>",
        metadata=_spec("IDP_SMTP_FROM", "The From address of email the provider sends.", str),
    )
    delivery_timeout: int = field(
        default=10,
        metadata=_spec(
            "IDP_DELIVERY_TIMEOUT", "Seconds a gateway or SMTP server gets to answer one send.", _int_between(1, 120)
        ),
    )
    delivery_max_attempts: int = field(
        default=500,
        metadata=_spec(
            "IDP_DELIVERY_MAX_ATTEMPTS",
            "A backstop: tries per message before the outbox gives up on it inside its retry window "
            "(a message whose sends keep dying). 500 at one try per 5 minutes outlasts a day.",
            _int_between(1, 10_000),
        ),
    )
    delivery_retry_for: int = field(
        default=86_400,
        metadata=_spec(
            "IDP_DELIVERY_RETRY_FOR",
            "Seconds a notice, email or logout token is retried before the outbox gives up on it (a day: "
            "a gateway outage of hours still ends in delivery, and a security notice a day late still "
            "tells the citizen). A code is never sent after its own expiry, whatever this says.",
            _int_between(60, 7 * 86_400),
        ),
    )
    keys_rescan_interval: int = field(
        default=5,
        metadata=_spec(
            "IDP_KEYS_RESCAN_INTERVAL",
            "Seconds between looks at the keys folder for rotated keys; 0 turns it off.",
            _int_between(0, 3600),
        ),
    )
    housekeeping_interval: int = field(
        default=300,
        metadata=_spec(
            "IDP_HOUSEKEEPING_INTERVAL",
            "Seconds between prunes of expired rows by one process (a shared lease); "
            "0 leaves it to `idp housekeeping`.",
            _int_between(0, 86400),
        ),
    )
    log_format: str = field(
        default="json",
        metadata=_spec(
            "IDP_LOG_FORMAT",
            "Log lines as json (one object a line, with the request id) or text.",
            _choice("json", "text"),
        ),
    )
    access_log: bool = field(
        default=True,
        metadata=_spec(
            "IDP_ACCESS_LOG", "Write one log line per request (method, path, status, time, request id).", _bool
        ),
    )
    shutdown_timeout: int = field(
        default=20,
        metadata=_spec(
            "IDP_SHUTDOWN_TIMEOUT",
            "On SIGTERM, seconds requests in flight get to finish before the process exits.",
            _int_between(1, 600),
        ),
    )
    metrics_address: str = field(
        default="127.0.0.1:9464",
        metadata=_spec(
            "IDP_METRICS_ADDRESS",
            "HOST:PORT of the Prometheus /metrics listener, apart from the public port (which answers 404 "
            "for /metrics); loopback by default, empty for none.",
            _listen_address,
        ),
    )
    outbound_allow_private: bool = field(
        default=False,
        metadata=_spec(
            "IDP_OUTBOUND_ALLOW_PRIVATE",
            "Let requests to portal-registered URLs (jwks_uri, back-channel logout) reach loopback, private and "
            "other internal addresses; false in production (SSRF), true for development and tests.",
            _bool,
        ),
    )

    timezone: str = field(
        default="Asia/Ho_Chi_Minh",
        metadata=_spec(
            "IDP_TIMEZONE",
            "The clock pages show times on (IANA name): citizens read 21:00, not 14:00 UTC.",
            _zone,
        ),
    )
    operator_name: str = field(
        default="Tổng công ty Bưu điện Việt Nam",
        metadata=_spec(
            "IDP_OPERATOR_NAME", "Who runs the service, named in every page's footer and the privacy notice.", _text
        ),
    )
    help_phone: str = field(
        default="1900 54 54 81",
        metadata=_spec(
            "IDP_HELP_PHONE", "The help line every page's footer gives (a tel: link on a phone).", _help_phone
        ),
    )
    privacy_url: str = field(
        default="",
        metadata=_spec(
            "IDP_PRIVACY_URL",
            "The operator's privacy notice, linked from every page's footer; empty: our own /privacy page.",
            _url,
        ),
    )

    registry_backend: str = field(
        default="none",
        metadata=_spec(
            "IDP_REGISTRY_BACKEND",
            "Checking a registration against the population registry: none (numbers stay declared) or http.",
            _choice("none", "http"),
        ),
    )
    registry_url: str = field(
        default="",
        metadata=_spec(
            "IDP_REGISTRY_URL", "The registry adapter's endpoint for JSON POSTs (with IDP_REGISTRY_BACKEND=http).", _url
        ),
    )
    registry_token: str = field(
        default="", metadata=_spec("IDP_REGISTRY_TOKEN", "Bearer token for the registry adapter.", str)
    )
    registry_timeout: float = field(
        default=REGISTRY_TIMEOUT,
        metadata=_spec(
            "IDP_REGISTRY_TIMEOUT",
            "Seconds the registry gets to answer one check; slower counts as an outage (the number stays declared).",
            _seconds_between(0.1, 30),
        ),
    )
    verification_max_age: int = field(
        default=VERIFICATION_RECORD_MAX_AGE,
        metadata=_spec(
            "IDP_VERIFICATION_MAX_AGE",
            "Seconds a clerk's record waits for a supervisor before it expires and must be recorded again.",
            _int_between(3600, 90 * 86400),
        ),
    )

    staff_session_idle_ttl: int = field(
        default=900,
        metadata=_spec(
            "IDP_STAFF_SESSION_IDLE_TTL", "Staff console session idle timeout, seconds.", _int_between(60, 3600)
        ),
    )
    staff_session_max_ttl: int = field(
        default=8 * 3600,
        metadata=_spec(
            "IDP_STAFF_SESSION_MAX_TTL", "Staff console session absolute lifetime, seconds.", _int_between(300, 86400)
        ),
    )
    staff_require_passkey: bool = field(
        default=False,
        metadata=_spec(
            "IDP_STAFF_REQUIRE_PASSKEY",
            "Staff log in to the console with password + passkey only; the TOTP code then opens only the "
            "page that adds a member's first passkey (true/false).",
            _bool,
        ),
    )
    audit_retention_days: int = field(
        default=400,
        metadata=_spec(
            "IDP_AUDIT_RETENTION_DAYS",
            "Days audit events are kept before `idp audit prune` removes them "
            "(the chain stays verifiable from a checkpoint).",
            _int_between(1, 36500),
        ),
    )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'idp.sqlite3').as_posix()}"

    @property
    def secure_cookies(self) -> bool:
        """Cookies are `__Host-`/`Secure` whenever the issuer is https; plain http is loopback-only dev."""
        return self.issuer.startswith("https://")

    @property
    def is_development(self) -> bool:
        return (
            not self.secure_cookies
            or self.effective_database_url.startswith("sqlite")
            or self.password_profile == "tests"
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every `IDP_*` variable; an unknown `IDP_*` name is refused too."""
        environ = os.environ if environ is None else environ
        known = {f.metadata["env"] for f in fields(cls)}
        unknown = sorted(k for k in environ if k.startswith("IDP_") and k not in known and k not in _IGNORED)
        if unknown:
            raise SettingsError(unknown[0], "is not a setting this provider knows (see the README's table)")
        values: dict[str, Any] = {}
        for f in fields(cls):
            env = f.metadata["env"]
            if env not in environ:
                continue
            try:
                values[f.name] = f.metadata["parse"](environ[env])
            except ValueError as exc:
                raise SettingsError(env, str(exc)) from None
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.session_idle_ttl > self.session_max_ttl:
            raise SettingsError("IDP_SESSION_IDLE_TTL", "must not exceed IDP_SESSION_MAX_TTL")
        if self.sms_backend == "http" and not self.sms_gateway_url:
            raise SettingsError("IDP_SMS_GATEWAY_URL", "is required when IDP_SMS_BACKEND=http")
        if self.registry_backend == "http" and not self.registry_url:
            raise SettingsError("IDP_REGISTRY_URL", "is required when IDP_REGISTRY_BACKEND=http")


# Variables that share the prefix but belong to tooling, not to the provider.
_IGNORED = frozenset({"IDP_TEST_DATABASE_URL", "IDP_TEST_WORKERS"})


def documented_settings() -> list[tuple[str, str, str]]:
    """(variable, default, doc) for the README's table."""
    rows = []
    for f in fields(Settings):
        default = f.default if f.default != "" else "(empty)"
        if f.name in ("sms_gateway_token", "smtp_password", "registry_token"):
            default = "(empty)"
        rows.append((f.metadata["env"], str(default), f.metadata["doc"]))
    return rows
