"""Every default limit and lifetime the provider ships with, each with the reason for its value.

Values only: the checks that apply them live with their subject (`core.limits` for the attempt and
send counters, `core.otp`, `core.staff`, `core.dpop`, ...). The sources are the ones the README's
"Security" notes and the project's security policy cite: RFC 6749 / 9700 (OAuth), RFC 9126 (PAR),
RFC 9449 (DPoP), RFC 7523 (client assertions), NIST SP 800-63B, OWASP ASVS 5. Tightening a value
is a one-line change here; loosening one is a decision to document. Lifetimes a deployment may
tune (sessions, codes, tokens) are settings (`idp.settings`), not constants.

All durations are in seconds.
"""

from __future__ import annotations

DAY = 86400

# -- password and code failures (NIST 800-63B §5.2.2 rate limiting) -------------------------------
# 5 free tries, then waits growing from 1 to 15 minutes: a typo costs nothing, guessing costs hours.
PASSWORD_FREE_TRIES = 5
# 100 in a row lock the account until a reset by SMS code: 800-63B's "no more than 100" cap.
PASSWORD_HARD_CAP = 100
# Codes (SMS, email, TOTP, recovery) are counted apart from passwords, with the same shape.
CODE_FREE_TRIES = 5
CODE_HARD_CAP = 100
# The longest wait before the next try; longer only helps an attacker lock the owner out.
MAX_DELAY = 15 * 60
# Per client IP: failed logins in a 15-minute window before that address is refused (credential stuffing).
LOGIN_FAILURES_PER_IP = 100
LOGIN_FAILURE_WINDOW = 15 * 60
# A browser that logged in is a known device for a year of disuse (OWASP device cookies): its
# password tries have their own budget, so failures from unknown browsers never block it.
DEVICE_TTL = 365 * DAY
# A known device's budget, and a flow's code budget, are forgotten a day after their last failure:
# longer than the longest delay, so forgetting never shortens a wait.
BUDGET_TTL = DAY

# -- one-time codes by SMS / email (NIST 800-63B §5.1.3: ≤ 10 min; ASVS 5 V6.5-6.6) ----------------
# 5 minutes: inside NIST's 10, long enough for a slow SMS.
CODE_TTL = 5 * 60
# 5 tries per code: 6 digits with 5 tries is a 1-in-200,000 guess.
CODE_TRIES = 5
# A resend after 60 s at the earliest, at most 5 sends per phone and 20 per client IP a day (SMS pumping, OWASP).
RESEND_COOLDOWN = 60
SENDS_PER_DESTINATION_PER_DAY = 5
SENDS_PER_IP_PER_DAY = 20
# Of the daily sends to one phone, anonymous requests (registration, a reset from an unknown browser)
# may spend only 3; the owner's own flows (password proven, signed in, or a known device) have
# SENDS_PER_DESTINATION_PER_DAY more of their own, so strangers cannot use up what the owner needs.
ANONYMOUS_SENDS_PER_DESTINATION_PER_DAY = 3
# SMS pumping (OWASP): sends to numbers nobody has proven yet (registration, phone change) are also
# counted per hour, in all and per block of 1,000 numbers (the E.164 number without its last 3 digits).
# Past a budget the breaker holds such sends for the rest of the hour; numbers on accounts still get theirs.
HOUR = 3600
# 1,000 an hour is several times a national launch-day peak of real registrations: past it is an attack.
SMS_GLOBAL_HOURLY_BUDGET = 1000
# 10 an hour to one block of 1,000 numbers: families and offices share blocks, a pumper walks through them.
SMS_PREFIX_HOURLY_BUDGET = 10
# The last 3 digits are what a pumper counts through; what is left names the block.
SMS_PREFIX_DROPPED_DIGITS = 3
# A registration whose code was never entered stops holding the ID number and phone after a day.
PENDING_ACCOUNT_TTL = DAY
# A multi-step page flow (registration, reset, phone change) lives as long as an idle browser session.
FLOW_TTL = 30 * 60
# A passkey ceremony's challenge: single use, and five minutes (WebAuthn's own recommended prompt
# timeouts are 5-10 minutes; ours asks the browser for two) before the page must ask for another.
PASSKEY_CHALLENGE_TTL = 5 * 60
# What a citizen calls a passkey ("Điện thoại của tôi"): enough for a phrase, short enough for a list.
PASSKEY_NAME_MAX = 64
# Passkeys one account may hold: a phone, a laptop, a security key and spares; more is a list
# nobody reviews, and each one is a way in.
PASSKEYS_PER_CITIZEN = 10
# A portal's new client secret waits (sealed, bound to the staff session) for the one console page
# that shows it after the POST redirected: long enough to retry that page over a bad connection,
# short enough that a secret never shown does not linger in the database.
SECRET_HANDOFF_TTL = 10 * 60

# -- parked authorization requests (interactions) --------------------------------------------------
# Each anonymous /authorize (or /account) parks a row until IDP_INTERACTION_TTL; these budgets are
# counted per IDP_INTERACTION_TTL window. 300 per address: a carrier-grade NAT or an office puts
# hundreds of citizens behind one address, but no one browser starts more than a few logins in
# ten minutes, and a script starting thousands a second is stopped after 300 rows.
INTERACTIONS_PER_ADDRESS = 300
# 50,000 in all: several times a launch-day peak of logins in ten minutes, and a bound (with the
# housekeeping interval) on the rows a flood from many addresses can make: about 50 MB.
INTERACTIONS_OVERALL = 50_000
# Addresses are counted per IPv6 /64: one subscriber's line holds a whole /64 to rotate through.
IPV6_BLOCK_PREFIX = 64
# -- the verification desk and the population registry (issue 14) ----------------------------------
# A clerk's record waits for a supervisor at most 7 days: a week covers a supervisor's days off, and
# the person who stood at the counter is still the person the record describes. Older, it expires
# and the citizen's check is recorded again.
VERIFICATION_RECORD_MAX_AGE = 7 * DAY
# The population registry gets 3 s to answer at registration; slower is an outage and the number
# stays declared (the citizen is not kept waiting on an agency's API).
REGISTRY_TIMEOUT = 3.0
# Registry questions per client address a day: as many as the registrations it may send codes for
# (SENDS_PER_IP_PER_DAY); the registry confirms personal data, which nobody may ask about in bulk.
REGISTRY_CHECKS_PER_IP_PER_DAY = 20
# A registry answer larger than this is not an answer.
MAX_REGISTRY_ANSWER_BYTES = 4 * 1024
# -- the counter: registration, recovery, disputes (issue 14) ----------------------------------------
# The link a counter sends (to set one's own password) works for a day: a citizen without a
# smartphone needs time to reach a computer or a relative's phone. The link alone opens nothing:
# each code it asks for is still a 6-digit SMS code of CODE_TTL, sent to the account's phone.
COUNTER_LINK_TTL = DAY

# -- staff (ASVS 5 V6/V7) ------------------------------------------------------------------------
# Staff failures per username in 15 minutes: lower than citizens', staff accounts guard more.
STAFF_FAILURE_WINDOW = 15 * 60
STAFF_FAILURES_PER_USERNAME = 10

# -- tokens and requests ---------------------------------------------------------------------------
# A client that lost the response to a refresh may retry once with the previous token this soon
# (RFC 9700 §4.14.2 rotation; the grace covers only the immediately previous token).
REFRESH_GRACE = 10
# A pushed request_uri works once within 60 s: RFC 9126 §2.2 suggests a short lifetime (5-600 s).
PAR_TTL = 60
# A back-channel logout token is sent at once; 2 minutes covers a retry and clock skew (OIDC Back-Channel Logout §2.4).
LOGOUT_TOKEN_TTL = 120
# A client assertion may be valid at most 5 minutes ahead (RFC 7523 §3: a short `exp` limits replay).
ASSERTION_MAX_LIFETIME = 300
# A DPoP proof's `iat` may be at most 60 s old (RFC 9449 §11.1: a short window limits pre-generated proofs).
DPOP_PROOF_MAX_AGE = 60
# Server nonces change every 5 minutes; the previous one stays good (RFC 9449 §8).
DPOP_NONCE_WINDOW = 300

# -- the FAPI 2.0 profile (FAPI 2.0 Security Profile, final; `core.fapi` applies these) ------------
# A FAPI 2.0 client's codes live at most 60 s, whatever IDP_CODE_TTL says (§5.3.2.1-11).
FAPI_CODE_MAX_TTL = 60
# Its access tokens at most 10 minutes, whatever IDP_ACCESS_TOKEN_TTL says: RFC 9068's short-lived
# JWTs, the upper end of the security policy's 5-10 min; the token is DPoP-bound and refreshable.
FAPI_ACCESS_TOKEN_MAX_TTL = 10 * 60
# JWTs it sends (client assertions, DPoP proofs) with `iat` or `nbf` up to 10 s ahead are accepted
# and more than 60 s ahead refused (§5.3.2.1-13): IDP_CLOCK_LEEWAY is clamped into [10, 60] for them.
FAPI_FUTURE_ACCEPTED = 10
FAPI_FUTURE_REFUSED_PAST = 60

# -- request bodies (IDP_MAX_BODY_BYTES is the limit everywhere else) -----------------------------
# Path prefix → the largest body it takes, when tighter than the setting (the smaller one wins).
# A registration is a few hundred bytes of declared identity; 16 KiB leaves room for any script.
BODY_LIMITS: dict[str, int] = {"/api/registrations": 16 * 1024}
# JSON bodies nest at most this deep: ours nest 4 levels (a client's JWKS); Python's parser
# recurses per level and fails with a RecursionError near 1,000.
MAX_JSON_DEPTH = 32

# Integers in requests (max_age, pagination, time filters) are ASCII digits up to this: the
# largest integer that JSON readers, SQLite and PostgreSQL's bigint all hold exactly (2^53 - 1).
LARGEST_NUMBER = 2**53 - 1
# max_age (OIDC Core §3.1.2.1) up to 68 years, longer than any session: more is a probe, not a policy.
LARGEST_MAX_AGE = 2**31 - 1

# -- portals' published keys (RFC 7523, OIDC Core §10.1.1) ----------------------------------------
# Keep a fetched JWKS 5 minutes: the relying-party cache time the key rotation rules assume.
JWKS_CACHE_SECONDS = 300
# An unknown `kid` refetches at most once a minute, so a forged header cannot make us a fetch amplifier.
JWKS_REFETCH_AT_MOST_EVERY = 60
# A slow jwks_uri fails within 5 s rather than holding a worker.
JWKS_FETCH_TIMEOUT = 5.0
# 64 KiB holds dozens of RSA keys; more is not a key set.
MAX_JWKS_BYTES = 64 * 1024

# -- storage faults ----------------------------------------------------------------------------------
# A 503 asks the client to come back after this long: a PostgreSQL restart or fail-over takes a few
# seconds, and a shorter wait only turns every client's retry into more load on a recovering server.
RETRY_AFTER_UNAVAILABLE = 5
