"""DPoP (RFC 9449): tokens bound to a key the client proves it holds, at /token, /userinfo and /par.

Each proof is fresh (`iat` within a minute; for a FAPI 2.0 client at most 60 s ahead too), is signed
with ES256, PS256 or EdDSA (no RS256, for every client), names this request (`htm`, `htu` built from the
issuer, never the Host header), is used once (`jti`), and carries a server nonce that rotates
every five minutes (stateless: a keyed digest of the time window, so every process agrees).
"""

from __future__ import annotations

from idp.core import fapi
from idp.core.policy import DPOP_NONCE_WINDOW, DPOP_PROOF_MAX_AGE
from idp.core.provider import Provider
from idp.crypto.assertions import DPOP_ALGS, verify_dpop_proof
from idp.crypto.jwts import BadToken
from idp.errors import InvalidDpopProof, UseDpopNonce
from idp.store.records import ClientRecord

# The algorithms a proof may be signed with; discovery and the `WWW-Authenticate` challenge name them.
ALGS = DPOP_ALGS


def current_nonce(provider: Provider, now: int | None = None) -> str:
    window = (provider.clock.now() if now is None else now) // DPOP_NONCE_WINDOW
    return provider.secrets.mac("dpop-nonce", str(window))[:32]


def _nonce_ok(provider: Provider, value: object) -> bool:
    now = provider.clock.now()
    return isinstance(value, str) and value in (
        current_nonce(provider, now),
        current_nonce(provider, now - DPOP_NONCE_WINDOW),
    )


def _refuse(provider: Provider, exc: InvalidDpopProof | UseDpopNonce) -> InvalidDpopProof | UseDpopNonce:
    exc.headers["DPoP-Nonce"] = current_nonce(provider)
    return exc


def check_proof(
    provider: Provider,
    proofs: list[str],
    *,
    method: str,
    path: str,
    access_token: str | None = None,
    client: ClientRecord | None = None,
) -> str | None:
    """The proof's key thumbprint (`jkt`), or None when the request carried no proof. `client` is
    the client the request is from (authenticated, or the one the access token was issued to)."""
    if not proofs:
        return None
    if len(proofs) > 1:
        raise _refuse(provider, InvalidDpopProof("send exactly one DPoP proof"))
    try:
        jkt, claims = verify_dpop_proof(
            proofs[0],
            method=method,
            url=provider.issuer + path,
            now=provider.clock.now(),
            leeway=fapi.future_allowance(client, provider.settings.clock_leeway),
            max_age=DPOP_PROOF_MAX_AGE,
            access_token=access_token,
        )
    except BadToken as exc:
        raise _refuse(provider, InvalidDpopProof("the DPoP proof is invalid", detail=str(exc))) from None
    if not _nonce_ok(provider, claims.get("nonce")):
        raise _refuse(provider, UseDpopNonce("the DPoP proof must carry the server's nonce"))
    if not provider.store.used_jtis.use(
        f"dpop:{jkt}:{claims['jti']}", provider.clock.now() + DPOP_PROOF_MAX_AGE + provider.settings.clock_leeway
    ):
        raise _refuse(provider, InvalidDpopProof("the DPoP proof was already used"))
    return jkt
