"""Domain refusals, CSRF tokens and authentication challenges: each defined once."""

from __future__ import annotations

from idp.core.authn import LoginFailed
from idp.core.flows import FlowGone
from idp.core.interactions import InteractionGone
from idp.core.limits import SendRefused, TooManyAttempts
from idp.core.otp import CodeRefused
from idp.core.staff import Forbidden
from idp.core.verification import DecisionRefused, NotFound
from idp.crypto.keys import RotationRefused
from idp.errors import Expired, IdpError, Refusal, ValidationError
from idp.http import csrf
from idp.http.render import challenge
from idp.i18n import t, words
from idp.store.records import Conflict


def test_every_domain_refusal_is_a_refusal_under_the_one_root():
    refusals = [
        LoginFailed(),
        TooManyAttempts(60),
        SendRefused("cooldown", 60),
        CodeRefused("wrong"),
        FlowGone(),
        InteractionGone(),
        Forbidden("keys.rotate"),
        NotFound(),
        DecisionRefused("own"),
        RotationRefused("ES256", 0),
        ValidationError("phone", "format"),
    ]

    assert all(isinstance(exc, Refusal) and isinstance(exc, IdpError) for exc in refusals)
    assert isinstance(Conflict("phone"), IdpError) and not isinstance(Conflict("phone"), Refusal)


def test_a_gone_flow_and_a_gone_interaction_read_as_expired():
    assert isinstance(FlowGone(), Expired) and isinstance(InteractionGone(), Expired)
    assert (FlowGone().status_code, FlowGone().message_key) == (400, "error.expired")


def test_a_refused_code_is_401_on_a_page_and_400_in_the_json_api():
    exc = CodeRefused("wrong")

    assert (exc.status_code, exc.api_status_code, exc.error) == (401, 400, "invalid_code")


def test_a_refusal_is_worded_from_its_message_key_and_a_validation_error_names_its_field():
    assert words("en", SendRefused("cooldown", 42)) == t("en", "code.resend_wait", seconds=42)
    assert words("vi", CodeRefused("no_tries_left")) == t("vi", "code.spent")
    assert words("vi", CodeRefused("blocked", 90)) == t("vi", "code.wait", minutes=2)
    assert t("en", "field.phone") in words("en", ValidationError("phone", "required"))


def test_the_send_refusal_tells_a_json_caller_when_to_retry():
    assert SendRefused("cooldown", 30).headers == {"Retry-After": "30"}
    assert SendRefused("cooldown").headers == {"Retry-After": "60"}


def test_a_csrf_token_opens_only_the_purpose_it_was_derived_for():
    token = csrf.token("a secret of the browser", csrf.ACCOUNT)

    assert csrf.matches("a secret of the browser", csrf.ACCOUNT, token)
    assert not csrf.matches("a secret of the browser", csrf.LOGOUT, token)
    assert not csrf.matches(None, csrf.ACCOUNT, token)
    assert not csrf.matches("a secret of the browser", csrf.ACCOUNT, "")


def test_a_challenge_quotes_its_parameters_in_order_and_leaves_out_the_missing_ones():
    assert challenge("Basic", realm="https://id.example") == 'Basic realm="https://id.example"'
    assert challenge("Bearer", realm="r", error="insufficient_scope", scope=None) == (
        'Bearer realm="r", error="insufficient_scope"'
    )
