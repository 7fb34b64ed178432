"""The WebAuthn ceremony checks (idp.crypto.passkeys) on answers recorded from an authenticator:
a software one with a key generated at test time, its registration and assertion exactly what a
browser posts. Each test spoils one thing in an otherwise good answer and expects a refusal."""

from __future__ import annotations

import json
import secrets

import pytest

from idp.crypto import passkeys as ceremony
from tests.factors.authenticator import SoftAuthenticator, b64, unb64

RP_ID, ORIGIN = "idp.test", "https://idp.test"


def _challenge() -> str:
    return b64(secrets.token_bytes(32))


def _registered(device: SoftAuthenticator) -> ceremony.Registered:
    challenge = _challenge()
    options = ceremony.registration_options(
        rp_id=RP_ID,
        rp_name="PostID",
        user_handle=b"citizen-1",
        user_name="001090000123",
        display_name="Trần Thị Bình",
        challenge=unb64(challenge),
        exclude=[],
    )
    return ceremony.verify_registration(device.register(options), challenge=challenge, rp_id=RP_ID, origin=ORIGIN)


@pytest.fixture
def device() -> SoftAuthenticator:
    return SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID)


@pytest.fixture
def recorded(device):
    """A registered key and a fresh, good assertion for a new challenge: (key, challenge, assertion)."""
    key = _registered(device)
    challenge = _challenge()
    options = ceremony.authentication_options(rp_id=RP_ID, challenge=unb64(challenge), allow=[])
    return key, challenge, options


def _verify(key, challenge, assertion, *, origin=ORIGIN, rp_id=RP_ID, sign_count=None):
    return ceremony.verify_assertion(
        assertion,
        challenge=challenge,
        rp_id=rp_id,
        origin=origin,
        public_key=key.public_key,
        sign_count=key.sign_count if sign_count is None else sign_count,
    )


def test_a_good_recorded_assertion_verifies_and_reports_its_counter(device, recorded):
    key, challenge, options = recorded

    asserted = _verify(key, challenge, device.assert_(options))

    assert asserted.sign_count == 1 and asserted.user_verified and not asserted.backed_up


def test_a_registration_from_another_origin_is_refused(device):
    challenge = _challenge()
    options = ceremony.registration_options(
        rp_id=RP_ID, rp_name="PostID", user_handle=b"c", user_name="u", display_name="d",
        challenge=unb64(challenge), exclude=[],
    )  # fmt: skip

    with pytest.raises(ceremony.CeremonyFailed):
        ceremony.verify_registration(
            device.register(options, origin="https://idp.test.evil.example"),
            challenge=challenge,
            rp_id=RP_ID,
            origin=ORIGIN,
        )


def test_a_registration_without_user_verification_is_refused():
    device = SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID, user_verified=False)

    with pytest.raises(ceremony.CeremonyFailed):
        _registered(device)


def test_an_assertion_for_another_relying_party_id_is_refused(device, recorded):
    key, challenge, options = recorded

    with pytest.raises(ceremony.CeremonyFailed):
        _verify(key, challenge, device.assert_(options, rp_id="evil.example"))


def test_an_assertion_made_on_another_origin_is_refused(device, recorded):
    key, challenge, options = recorded

    with pytest.raises(ceremony.CeremonyFailed):
        _verify(key, challenge, device.assert_(options, origin="http://localhost:9999"))


def test_an_assertion_answering_another_challenge_is_refused(device, recorded):
    key, challenge, options = recorded

    with pytest.raises(ceremony.CeremonyFailed):
        _verify(key, challenge, device.assert_(options, challenge=_challenge()))


def test_an_assertion_without_user_verification_is_refused(device, recorded):
    key, challenge, options = recorded

    with pytest.raises(ceremony.CeremonyFailed):
        _verify(key, challenge, device.assert_(options, user_verified=False))


def test_a_counter_that_did_not_go_up_is_refused_as_a_regression(device, recorded):
    key, challenge, options = recorded

    with pytest.raises(ceremony.SignCountRegressed):
        _verify(key, challenge, device.assert_(options, count=5), sign_count=5)


def test_an_authenticator_that_never_counts_is_accepted_at_zero(device, recorded):
    key, challenge, options = recorded

    asserted = _verify(key, challenge, device.assert_(options, count=0), sign_count=0)

    assert asserted.sign_count == 0


def test_a_signature_with_one_flipped_byte_is_refused(device, recorded):
    key, challenge, options = recorded

    with pytest.raises(ceremony.CeremonyFailed):
        _verify(key, challenge, device.assert_(options, flip_signature=True))


def test_an_assertion_signed_by_another_key_is_refused(device, recorded):
    key, challenge, options = recorded
    stranger = SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID, credential_id=device.credential_id)

    with pytest.raises(ceremony.CeremonyFailed):
        _verify(key, challenge, stranger.assert_(options))


def test_the_facts_of_an_assertion_name_its_credential_and_challenge(device, recorded):
    _, challenge, options = recorded

    facts = ceremony.assertion_facts(device.assert_(options))

    assert facts.credential_id == b64(device.credential_id) and facts.challenge == challenge


def test_a_malformed_assertion_is_a_ceremony_failure_not_a_crash(recorded):
    key, challenge, _ = recorded

    with pytest.raises(ceremony.CeremonyFailed):
        _verify(key, challenge, json.dumps({"id": "x", "response": {}}))
