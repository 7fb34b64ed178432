"""Issue 13, item 9: one refresh token sent five times at once, over two provider processes on one
database, gets only 200 and 400 `invalid_grant` answers, never a 500.

On PostgreSQL the grace path used to take the successor's row lock and then the old token's, while
a request whose failed rotation had waited on the old token kept that row's lock: two requests each
held what the other wanted (DeadlockDetected, a 500). The family's rules must hold as well: at most
the rotation and its one grace retry succeed, the replays end the grant, and afterwards no token
of the family works.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from idp.bootstrap import open_provider
from idp.core.provider import Provider
from idp.crypto.opaque import digest
from idp.settings import Settings
from tests.helpers import CITIZEN, Pkce, Portal, issued_code
from tests.ops.conftest import REDIRECT_URI, Cluster

pytestmark = pytest.mark.faults

ROUNDS = 12
PARALLEL = 5


def _refresh_token(provider: Provider, cluster: Cluster, http: httpx.Client) -> str:
    portal = Portal(cluster.client_id, cluster.client_secret, REDIRECT_URI)
    found = provider.store.citizens.find_for_login(CITIZEN.id_number, None)
    assert found is not None
    pkce = Pkce()
    code = issued_code(provider, portal, found[0], pkce, scope="openid offline_access")["code"]
    tokens = http.post(
        f"{cluster.urls[0]}/token",
        auth=portal.basic,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": pkce.verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["refresh_token"])


def _refresh(http: httpx.Client, base: str, cluster: Cluster, token: str) -> httpx.Response:
    return http.post(
        f"{base}/token",
        auth=(cluster.client_id, cluster.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": token},
    )


def test_one_refresh_token_sent_five_times_at_once_over_two_processes_is_never_a_500(cluster: Cluster):
    provider = open_provider(Settings.from_env(cluster.env))
    seen: Counter[int] = Counter()
    try:
        with httpx.Client(timeout=30) as setup:
            for _ in range(ROUNDS):
                token = _refresh_token(provider, cluster, setup)
                barrier = threading.Barrier(PARALLEL)

                def send(n: int, token: str = token, barrier: threading.Barrier = barrier) -> httpx.Response:
                    with httpx.Client(timeout=30) as http:
                        barrier.wait(timeout=30)
                        return _refresh(http, cluster.urls[n % 2], cluster, token)

                with ThreadPoolExecutor(PARALLEL) as pool:
                    answers = list(pool.map(send, range(PARALLEL)))
                seen.update(a.status_code for a in answers)
                won = [a.json()["refresh_token"] for a in answers if a.status_code == 200]
                refused = [a.json()["error"] for a in answers if a.status_code != 200]
                afterwards = [_refresh(setup, cluster.urls[0], cluster, t).status_code for t in won]
                digest_rows = _family(provider, token)

                assert {a.status_code for a in answers} <= {200, 400}, [(a.status_code, a.text) for a in answers]
                assert set(refused) <= {"invalid_grant"}
                assert 1 <= len(won) <= 2, "the rotation and at most one grace retry succeed"
                assert afterwards == [400] * len(won), "a replay ended the grant: no token of the family works"
                assert digest_rows["revoked"] and digest_rows["grace_used"] <= 1
    finally:
        provider.store.close()
    print(f"\nrefresh race, {ROUNDS} rounds x {PARALLEL}: statuses {dict(seen)}")


def _family(provider: Provider, token: str) -> dict[str, int]:
    with provider.store.engine.connect() as conn:
        grant_id = conn.execute(
            text("SELECT grant_id FROM refresh_token WHERE token_digest = :d"), {"d": digest(token)}
        ).scalar_one()
        grace_used = conn.execute(
            text("SELECT COUNT(*) FROM refresh_token WHERE grant_id = :g AND grace_used"), {"g": grant_id}
        ).scalar_one()
        revoked = conn.execute(
            text("SELECT revoked_at IS NOT NULL FROM auth_grant WHERE id = :g"), {"g": grant_id}
        ).scalar_one()
    return {"grace_used": int(grace_used), "revoked": int(bool(revoked))}
