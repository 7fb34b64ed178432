"""Two provider processes on one database behave as one provider: a login may hop between them,
counters are shared, and a rotated key reaches both without a restart."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

from idp.crypto.keys import ensure_keys
from tests.helpers import CITIZEN, Pkce, csrf_of, form_action, query_of
from tests.ops.conftest import PASSWORD, REDIRECT_URI, Cluster


def _on(base: str, url: str) -> str:
    """The same path and query, on another process."""
    parts = urlsplit(url)
    return base + parts.path + (f"?{parts.query}" if parts.query else "")


def _authorize(http: httpx.Client, cluster: Cluster, base: str, pkce: Pkce, state: str) -> str:
    query = urlencode(
        {
            "client_id": cluster.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid profile phone",
            "state": state,
            "nonce": "n-" + state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
    )
    response = http.get(f"{base}/authorize?{query}")
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _login(http: httpx.Client, base: str, interaction_url: str, password: str) -> httpx.Response:
    page = http.get(_on(base, interaction_url))
    assert page.status_code == 200 and 'name="password"' in page.text, page.text
    return http.post(
        _on(base, form_action(page.text, "/login")),
        data={"csrf_token": csrf_of(page.text), "identifier": CITIZEN.id_number, "password": password},
    )


def test_a_login_hops_between_processes_and_ends_with_the_same_answers(cluster: Cluster):
    a, b = cluster.urls
    pkce = Pkce()

    with httpx.Client(timeout=10) as http:
        interaction_url = _authorize(http, cluster, a, pkce, "st-hop")
        logged_in = _login(http, b, interaction_url, PASSWORD)
        assert logged_in.status_code == 303, logged_in.text
        consent_page = http.get(_on(b, logged_in.headers["location"]))
        decided = http.post(
            _on(b, form_action(consent_page.text, "/consent")),
            data={"csrf_token": csrf_of(consent_page.text), "decision": "allow"},
        )
        callback = query_of(decided.headers["location"])
        tokens = http.post(
            f"{b}/token",
            auth=(cluster.client_id, cluster.client_secret),
            data={
                "grant_type": "authorization_code",
                "code": callback["code"],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": pkce.verifier,
            },
        )
        userinfo = http.get(f"{a}/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"})
        replay = http.post(
            f"{a}/token",
            auth=(cluster.client_id, cluster.client_secret),
            data={
                "grant_type": "authorization_code",
                "code": callback["code"],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": pkce.verifier,
            },
        )

    assert decided.headers["location"].startswith(REDIRECT_URI) and callback["state"] == "st-hop"
    assert tokens.status_code == 200, tokens.text
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["name"] == CITIZEN.full_name
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_password_failures_on_both_processes_add_up_to_one_account_delay(cluster: Cluster):
    a, b = cluster.urls

    with httpx.Client(timeout=10) as http:
        interaction_url = _authorize(http, cluster, a, Pkce(), "st-limits")
        failures = [
            _login(http, base, interaction_url, "wrong password, try again").status_code for base in (a, b, a, b, a)
        ]
        # Neither process saw five failures itself; together they did, so the account now waits
        # and even the right password is told to wait (as an unknown identifier would be).
        right_password = _login(http, b, interaction_url, PASSWORD)

    assert failures == [401] * 5
    assert right_password.status_code == 429


def test_a_key_added_to_the_folder_is_published_by_every_process_without_a_restart(cluster: Cluster, tmp_path: Path):
    fresh = tmp_path / "fresh-keys"
    ensure_keys(fresh)
    new_key = next(fresh.glob("es256-*.pem"))
    new_kid = new_key.name.removeprefix("es256-").removesuffix(".pem")
    staged = cluster.keys_dir / "incoming.tmp"
    shutil.copy(new_key, staged)

    staged.rename(cluster.keys_dir / new_key.name)  # atomic: a process never sees half a key
    deadline = time.monotonic() + 10
    published = {url: False for url in cluster.urls}
    while not all(published.values()) and time.monotonic() < deadline:
        for url in cluster.urls:
            published[url] = new_kid in {k["kid"] for k in httpx.get(f"{url}/jwks").json()["keys"]}
        time.sleep(0.2)

    assert published == {url: True for url in cluster.urls}
