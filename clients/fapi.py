"""The FAPI 2.0 Security Profile (final) on the portal's side: what `profile="fapi2"` changes.

A bank, tax or land-records portal registered with PostID's `--profile fapi2` is refused anything
less, so the SDK sets it all up from the one keyword rather than leaving the portal to assemble
five options (and find the missing one in production): PAR and DPoP on, `private_key_jwt` only,
assertions signed PS256/ES256/EdDSA with `aud` the issuer as a string, ID and logout tokens
accepted in those algorithms only, `iss` required in the callback, and DPoP-bound tokens only.
Everything is decided at construction, so a misconfigured portal fails when it starts, not at a
citizen's first login. Mutual TLS, the profile's other option, is not offered (PostID has none).
"""

from __future__ import annotations

from typing import Final, Literal

from .client_auth import ClientAuth, PrivateKeyJwt
from .defaults import FAPI2_ALGORITHMS
from .errors import ConfigurationError

__all__ = ["FAPI2", "PROFILES", "STANDARD", "Profile", "check_profile", "fapi2_client_auth"]

Profile = Literal["standard", "fapi2"]
STANDARD: Final = "standard"
FAPI2: Final = "fapi2"
PROFILES: Final = (STANDARD, FAPI2)


def check_profile(profile: object) -> Profile:
    if profile == STANDARD:
        return STANDARD
    if profile == FAPI2:
        return FAPI2
    raise ConfigurationError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")


def fapi2_client_auth(auth: ClientAuth | None, client_secret: str | None, issuer: str) -> PrivateKeyJwt:
    """§5.3.2.1: the client authenticates with `private_key_jwt` (or mutual TLS, not offered);
    §5.4.1: it signs PS256, ES256 or EdDSA; §5.3.2.1-8: `aud` is the issuer, as a string.

    An RSA key left to its default algorithm signs PS256 here (RS256 elsewhere); an RSA key told to
    sign RS256 is refused rather than silently changed, since its registered JWKS pins RS256."""
    if client_secret is not None or not isinstance(auth, PrivateKeyJwt):
        raise ConfigurationError(
            'profile="fapi2" authenticates with private_key_jwt only: pass auth=PrivateKeyJwt(key) '
            "(not client_secret or another method), and register its public_jwks() with the provider"
        )
    if auth.audience is not None and auth.audience != issuer:
        raise ConfigurationError(
            'profile="fapi2" sends the issuer as the assertion audience (FAPI 2.0 §5.3.2.1-8): '
            "leave PrivateKeyJwt's audience unset"
        )
    if auth.algorithm in FAPI2_ALGORITHMS:
        return auth
    if auth.algorithm_chosen:
        raise ConfigurationError(
            f'profile="fapi2" signs with {", ".join(FAPI2_ALGORITHMS)} (FAPI 2.0 §5.4.1), not {auth.algorithm}: '
            'build the key with algorithm="PS256" and register its public_jwks()'
        )
    return auth.with_algorithm("PS256")  # the one algorithm outside the list is RS256: an RSA key
