"""The provider's Prometheus metrics, defined once. Apart from the middleware in `observability`
(which imports Starlette), so the core can count what only it sees, such as the SMS-pumping breaker,
without reaching the web layer."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "idp_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "idp_http_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LOGINS = Counter("idp_logins_total", "Password logins, by outcome (success, failed, throttled, refused).", ["outcome"])
TOKENS = Counter("idp_tokens_issued_total", "Successful token endpoint answers, by grant type.", ["grant_type"])
CODES_SENT = Counter(
    "idp_codes_sent_total", "Messages handed to a sender, by channel and result.", ["channel", "result"]
)
OUTBOX_GIVEN_UP = Counter(
    "idp_outbox_given_up_total",
    "Messages the outbox gave up on, never sent, by channel, purpose and reason "
    "(expired: a code past its expiry or a notice past the retry window; refused: the gateway will not "
    "take it; replaced: a newer code for the same flow; attempts: IDP_DELIVERY_MAX_ATTEMPTS used up; "
    "interrupted: the sends kept dying).",
    ["channel", "purpose", "reason"],
)
SMS_BREAKER_TRIPS = Counter(
    "idp_sms_breaker_trips_total",
    "Times the SMS-pumping breaker opened (an hourly budget for unproven numbers spent), by budget.",
    ["budget"],
)
HOUSEKEEPING_PRUNED = Counter("idp_housekeeping_pruned_total", "Rows pruned by housekeeping, by table.", ["table"])
UNAVAILABLE = Counter(
    "idp_unavailable_total",
    "Requests answered 503 because storage failed, by cause (database_unavailable, database_busy, storage_full,"
    " storage_read_only).",
    ["cause"],
)
UNEXPECTED = Counter("idp_unexpected_errors_total", "Requests answered 500 by the error boundary (a defect).")
