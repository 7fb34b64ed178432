"""Issue 12, attack 7: SMS pumping. Registrations to sequential numbers from a few addresses must not
turn the provider into a paid SMS relay.

Assumed for the implementer (settings, with their defaults):
- `IDP_SMS_PREFIX_HOURLY_BUDGET` (`sms_prefix_hourly_budget`, default 10): SMS per hour to one number
  prefix, the E.164 number without its last three digits (a block of 1,000 numbers);
- `IDP_SMS_GLOBAL_HOURLY_BUDGET` (`sms_global_hourly_budget`, default 1000): SMS per hour in all.
Past a budget the circuit breaker opens: no SMS is queued, the metric `idp_sms_breaker_trips_total`
(any labels) counts it, and a logger under `idp` writes a WARNING (or worse) line naming the breaker.
The registration still answers as usual, so the attacker learns nothing.
"""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY
from sqlalchemy import text

from tests.security.conftest import browser_at

REGISTRATIONS = 45
PREFIX_BUDGET = 10
PREFIX = "+84987654"


def _breaker_trips() -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if "sms_breaker" in metric.name
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


def _register(browser, n):
    return browser.post(
        "/api/registrations",
        json={
            "full_name": "Phạm Minh Châu",
            "citizen_id": f"079303{n:06d}",
            "birth_date": "2003-04-05",
            "sex": "female",
            "phone": f"0987654{n:03d}",
            "email": "",
            "password": "mây trắng bay qua đồi xanh",
        },
    )


def _queued_to_prefix(provider) -> int:
    with provider.store.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT COUNT(*) FROM outbox WHERE purpose = 'register' AND recipient LIKE :p"),
                {"p": PREFIX + "%"},
            ).scalar_one()
        )


def test_registrations_to_sequential_numbers_stop_at_the_prefix_budget(client, provider):
    addresses = [browser_at(client, f"198.51.100.{i}") for i in (1, 2, 3)]

    answers = [_register(addresses[n % 3], n).status_code for n in range(REGISTRATIONS)]

    assert set(answers) == {202}
    queued = _queued_to_prefix(provider)
    assert queued <= PREFIX_BUDGET, f"{queued} SMS queued to one prefix in an hour (budget {PREFIX_BUDGET})"


def test_the_breaker_opening_is_counted_in_a_metric_and_logged(client, provider, caplog):
    addresses = [browser_at(client, f"198.51.100.{i}") for i in (1, 2, 3)]
    before = _breaker_trips()

    with caplog.at_level(logging.WARNING):
        for n in range(REGISTRATIONS):
            _register(addresses[n % 3], n)

    assert _breaker_trips() > before, "no idp_sms_breaker_trips_total was counted"
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("idp") and r.levelno >= logging.WARNING]
    assert any("breaker" in line.lower() for line in lines), f"no log line names the breaker: {lines[:5]}"
