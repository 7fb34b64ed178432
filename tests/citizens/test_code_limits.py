"""Every limit on one-time codes tried past its edge."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import text

from idp.core import limits, otp, policy
from idp.core.limits import SendRefused
from idp.core.otp import CodeRefused
from tests.helpers import add_citizen

FLOW = "flow-under-test"


@pytest.fixture
def holder(provider):
    citizen, _ = add_citizen(provider)
    return citizen


def _send(provider, citizen, flow=FLOW, ip="192.0.2.1", purpose="login", owner=False):
    otp.send_code(
        provider,
        citizen_id=citizen.id,
        purpose=purpose,
        destination=citizen.phone,
        flow_id=flow,
        client_ip=ip,
        lang="vi",
        owner=owner,
    )


def _code(provider, citizen, purpose="login"):
    """The newest code queued for the citizen (no outbox worker runs here, so the row still holds it,
    sealed: the outbox opens it)."""
    with provider.store.engine.connect() as conn:
        message_id = conn.execute(
            text("SELECT id FROM outbox WHERE recipient = :to AND purpose = :p ORDER BY created_at DESC LIMIT 1"),
            {"to": citizen.phone, "p": purpose},
        ).scalar()
    return provider.store.outbox.get(message_id).code


def _verify(provider, citizen, code, purpose="login"):
    return otp.verify_code(provider, citizen_id=citizen.id, purpose=purpose, flow_id=FLOW, code=code)


def test_a_code_works_once(provider, holder):
    _send(provider, holder)
    code = _code(provider, holder)

    _verify(provider, holder, code)

    with pytest.raises(CodeRefused):
        _verify(provider, holder, code)


def test_a_code_is_bound_to_its_purpose(provider, holder):
    _send(provider, holder, purpose="reset")
    code = _code(provider, holder, "reset")

    with pytest.raises(CodeRefused):
        _verify(provider, holder, code, purpose="login")


def test_a_code_expires_after_five_minutes(provider, clock, holder):
    _send(provider, holder)
    code = _code(provider, holder)
    clock.advance(policy.CODE_TTL)

    with pytest.raises(CodeRefused):
        _verify(provider, holder, code)


def test_after_five_wrong_tries_even_the_right_code_is_refused(provider, holder):
    _send(provider, holder)
    code = _code(provider, holder)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(policy.CODE_TRIES):
        with pytest.raises(CodeRefused):
            _verify(provider, holder, wrong)

    with pytest.raises(CodeRefused) as refused:
        _verify(provider, holder, code)

    assert refused.value.reason in ("no_tries_left", "blocked")


def test_twenty_parallel_guesses_at_one_code_get_at_most_five_comparisons(provider, holder):
    _send(provider, holder)
    code = _code(provider, holder)
    guesses = [f"{n:06d}" for n in range(20) if f"{n:06d}" != code][:20]
    barrier = Barrier(len(guesses))

    def guess(value):
        barrier.wait()
        try:
            _verify(provider, holder, value)
        except CodeRefused as exc:
            return exc.reason
        return "accepted"

    with ThreadPoolExecutor(len(guesses)) as pool:
        reasons = list(pool.map(guess, guesses))

    assert reasons.count("wrong") <= policy.CODE_TRIES
    challenge_attempts = provider.store.challenges.live_for_flow(FLOW, "login", provider.clock.now()).attempts
    assert challenge_attempts == policy.CODE_TRIES


def test_a_resend_within_sixty_seconds_is_refused_and_voids_nothing(provider, clock, holder):
    _send(provider, holder)
    code = _code(provider, holder)

    with pytest.raises(SendRefused) as refused:
        _send(provider, holder)

    assert refused.value.reason == "cooldown"
    _verify(provider, holder, code)


def test_a_resend_replaces_the_earlier_code(provider, clock, holder):
    _send(provider, holder)
    first = _code(provider, holder)
    clock.advance(limits.RESEND_COOLDOWN)
    _send(provider, holder)

    second = _code(provider, holder)

    assert first != second  # one chance in a million of a false failure
    with pytest.raises(CodeRefused):
        _verify(provider, holder, first)
    _verify(provider, holder, second)


def test_the_owners_flows_get_at_most_five_codes_a_day_to_a_phone(provider, clock, holder):
    for _ in range(limits.SENDS_PER_DESTINATION_PER_DAY):
        _send(provider, holder, owner=True)
        clock.advance(limits.RESEND_COOLDOWN)

    with pytest.raises(SendRefused) as refused:
        _send(provider, holder, owner=True)

    assert refused.value.reason == "daily_cap"
    clock.advance(policy.DAY)
    _send(provider, holder, owner=True)


def test_anonymous_requests_get_at_most_three_codes_a_day_to_a_phone(provider, clock, holder):
    for _ in range(policy.ANONYMOUS_SENDS_PER_DESTINATION_PER_DAY):
        _send(provider, holder)
        clock.advance(limits.RESEND_COOLDOWN)

    with pytest.raises(SendRefused) as refused:
        _send(provider, holder)

    assert refused.value.reason == "daily_cap"


def test_anonymous_requests_cannot_spend_the_owners_daily_codes(provider, clock, holder):
    for _ in range(policy.ANONYMOUS_SENDS_PER_DESTINATION_PER_DAY + 2):
        with contextlib.suppress(SendRefused):
            _send(provider, holder)
        clock.advance(limits.RESEND_COOLDOWN)

    for _ in range(limits.SENDS_PER_DESTINATION_PER_DAY):
        _send(provider, holder, owner=True)
        clock.advance(limits.RESEND_COOLDOWN)


def test_one_client_ip_gets_at_most_twenty_codes_a_day(provider, holder):
    from idp.core.accounts import CitizenDeclaration

    others = [
        add_citizen(
            provider,
            declaration=CitizenDeclaration(
                id_number=f"00109000{n:04d}",
                full_name="Lê Văn Tám",
                birth_date="1990-01-01",
                sex="male",
                phone=f"0903{n:06d}",
            ),
        )[0]
        for n in range(limits.SENDS_PER_IP_PER_DAY + 1)
    ]
    for citizen in others[:-1]:
        _send(provider, citizen, flow=f"f-{citizen.id}", ip="198.51.100.7")

    with pytest.raises(SendRefused) as refused:
        _send(provider, others[-1], flow="last", ip="198.51.100.7")

    assert refused.value.reason == "ip_cap"


def test_only_vietnamese_mobile_numbers_are_sent_to(provider, holder):
    with pytest.raises(SendRefused) as refused:
        otp.send_code(
            provider,
            citizen_id=holder.id,
            purpose="login",
            destination="+16505550100",
            flow_id=FLOW,
            client_ip="192.0.2.1",
            lang="vi",
        )

    assert refused.value.reason == "destination"


def test_code_failures_across_codes_bring_growing_delays_then_a_lock(provider, clock, holder):
    for _n in range(limits.CODE_FREE_TRIES):
        otp.record_failure(provider, holder.id)
    with pytest.raises(CodeRefused) as blocked:
        otp.check_not_blocked(provider, holder.id)
    assert blocked.value.reason == "blocked" and blocked.value.retry_after == 30

    for _n in range(limits.CODE_HARD_CAP - limits.CODE_FREE_TRIES):
        otp.record_failure(provider, holder.id)
    clock.advance(limits.MAX_DELAY + 1)

    with pytest.raises(CodeRefused) as locked:
        otp.check_not_blocked(provider, holder.id)
    assert locked.value.reason == "locked"


def test_the_code_is_kept_only_as_a_keyed_digest(provider, holder):
    _send(provider, holder)
    code = _code(provider, holder)

    with provider.store.engine.connect() as conn:
        stored = conn.execute(text("SELECT code_digest FROM otp_challenge")).scalar()
    assert code not in stored and len(stored) >= 43
