"""`idp serve --demo`: a demo portal client and a demo citizen, and how to log in with them.

Both are made again on every start with fresh random credentials, which are printed, so no
password or secret is ever written in the project.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

from idp.core.accounts import CitizenDeclaration, add_active_citizen
from idp.core.client_spec import ClientSpec
from idp.core.clients import register_client, rotate_secret
from idp.core.provider import Provider
from idp.crypto.opaque import new_token
from idp.errors import ValidationError

DEMO_CLIENT_ID = "demo-portal"
DEMO_REDIRECT_URI = "http://127.0.0.1:8001/callback"
DEMO_CITIZEN = CitizenDeclaration(
    id_number="001090000001",
    full_name="Nguyễn Văn An",
    birth_date="1990-01-15",
    sex="male",
    phone="0912000001",
    email="an.demo@example.org",
)


def seed(provider: Provider) -> str:
    if provider.store.clients.get(DEMO_CLIENT_ID) is None:
        secret = register_client(
            provider,
            ClientSpec(
                name="Cổng dịch vụ công (demo)",
                redirect_uris=[DEMO_REDIRECT_URI],
                post_logout_redirect_uris=["http://127.0.0.1:8001/"],
                backchannel_logout_uri="http://127.0.0.1:8001/backchannel-logout",
                client_id=DEMO_CLIENT_ID,
            ),
        ).secret
    else:
        secret = rotate_secret(provider, DEMO_CLIENT_ID)
    password = new_token(provider.rng, 9)
    try:
        add_active_citizen(provider, DEMO_CITIZEN, password)
    except ValidationError:  # already seeded: give it the new password
        found = provider.store.citizens.find_for_login(DEMO_CITIZEN.id_number, None)
        assert found is not None
        provider.store.citizens.set_password_hash(found[0].id, provider.passwords.hash(password), provider.clock.now())
    verifier = new_token(provider.rng, 32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = f"{provider.issuer}/authorize?" + urlencode(
        {
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": DEMO_REDIRECT_URI,
            "response_type": "code",
            "scope": "openid profile phone",
            "state": "demo",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"""
Demo seeded.
  portal client_id     {DEMO_CLIENT_ID}
  portal client_secret {secret}
  citizen ID number    {DEMO_CITIZEN.id_number}   (phone {DEMO_CITIZEN.phone})
  citizen password     {password}

Start the demo portal (the SDK in clients/) in another terminal, then open http://127.0.0.1:8001/ :
  POSTID_ISSUER={provider.issuer} POSTID_CLIENT_ID={DEMO_CLIENT_ID} POSTID_CLIENT_SECRET={secret} \\
       .venv/bin/python -m clients.demo

Or log in by hand: open this URL, log in, allow, then copy `code` from the address bar:
  {url}
Exchange the code:
  curl -s -u {DEMO_CLIENT_ID}:{secret} -d grant_type=authorization_code -d code=CODE \\
       -d redirect_uri={DEMO_REDIRECT_URI} -d code_verifier={verifier} {provider.issuer}/token
"""
