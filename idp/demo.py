"""`idp serve --demo`: a demo portal client and a demo citizen, and how to log in with them.

The first start makes both with fresh random credentials and keeps them in the data folder
(`demo.json`, 0600), so no password or secret is ever written in the project, and a restart keeps
them: a demo portal still running with the printed secret goes on working. `--rotate-demo` makes
new ones (the old secret and password stop working at once); so does a data folder whose file was
lost or no longer matches the database.

The provider's development issuer is http://localhost:PORT (passkeys need a host name); the demo
portal stays on http://127.0.0.1:8001. Browsers keep cookies per host, not per port, so on two
different hosts the portal's session cookie and the provider's never travel to each other, and the
callback from one to the other is a top-level GET that `SameSite=Lax` cookies follow.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from urllib.parse import urlencode

from idp.core.accounts import CitizenDeclaration, add_active_citizen
from idp.core.client_spec import ClientSpec
from idp.core.clients import register_client, rotate_secret
from idp.core.provider import Provider
from idp.crypto.opaque import matches, new_token

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


CREDENTIALS_FILE = "demo.json"  # in the data folder, beside the SQLite database


def _saved(path: Path) -> dict[str, str]:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in saved.items() if isinstance(v, str)} if isinstance(saved, dict) else {}


def _keep(path: Path, credentials: dict[str, str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(credentials, file)
    os.chmod(path, 0o600)


def _client_secret(provider: Provider, saved: str | None, rotate: bool) -> str:
    """The demo portal's secret: the saved one while the database still accepts it."""
    client = provider.store.clients.get(DEMO_CLIENT_ID)
    if client is None:
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
        assert secret is not None  # a client_secret_basic client always gets one
        return secret
    if not rotate and saved and client.secret_digest and matches(saved, client.secret_digest):
        return saved
    return rotate_secret(provider, DEMO_CLIENT_ID)


def _citizen_password(provider: Provider, saved: str | None, rotate: bool) -> str:
    """The demo citizen's password: the saved one while it still opens the account."""
    found = provider.store.citizens.find_for_login(DEMO_CITIZEN.id_number, None)
    if found is not None and not rotate and saved and provider.passwords.verify(found[1], saved):
        return saved
    password = new_token(provider.rng, 9)
    if found is None:
        add_active_citizen(provider, DEMO_CITIZEN, password)
    else:
        provider.store.citizens.set_password_hash(found[0].id, provider.passwords.hash(password), provider.clock.now())
    return password


def seed(provider: Provider, *, rotate: bool = False) -> str:
    """Make or keep the demo portal and citizen; the banner that says how to use them."""
    path = provider.settings.data_dir / CREDENTIALS_FILE
    saved = {} if rotate else _saved(path)
    secret = _client_secret(provider, saved.get("client_secret"), rotate)
    password = _citizen_password(provider, saved.get("citizen_password"), rotate)
    kept = saved == {"client_secret": secret, "citizen_password": password}
    if not kept:
        _keep(path, {"client_secret": secret, "citizen_password": password})
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
    state = "kept from the last start" if kept else "new"
    return f"""
Demo seeded (credentials {state}; kept in {path} across restarts, `idp serve --demo --rotate-demo` makes new ones).
  portal client_id     {DEMO_CLIENT_ID}
  portal client_secret {secret}
  citizen ID number    {DEMO_CITIZEN.id_number}   (phone {DEMO_CITIZEN.phone})
  citizen password     {password}

Start the demo portal (the SDK in clients/, installed by scripts/start) in another terminal, then open
http://127.0.0.1:8001/ :
  POSTID_ISSUER={provider.issuer} POSTID_CLIENT_ID={DEMO_CLIENT_ID} POSTID_CLIENT_SECRET={secret} \\
       .venv/bin/python -m postid_client.demo

Or log in by hand: open this URL, log in, allow, then copy `code` from the address bar:
  {url}
Exchange the code:
  curl -s -u {DEMO_CLIENT_ID}:{secret} -d grant_type=authorization_code -d code=CODE \\
       -d redirect_uri={DEMO_REDIRECT_URI} -d code_verifier={verifier} {provider.issuer}/token
"""
