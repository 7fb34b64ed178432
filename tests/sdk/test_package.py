"""The package's public surface and its boundary with the provider."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import postid_client

CLIENTS_DIR = Path(__file__).resolve().parents[2] / "clients"


def test_the_public_api_is_exactly_the_pinned_list():
    assert postid_client.__all__ == [
        "ASSURANCE_LEVELS",
        "PASSKEY_METHODS",
        "AmrRequirement",
        "AsyncPostIDClient",
        "AuthorizationDenied",
        "CallbackError",
        "CitizenId",
        "ClientAuth",
        "ClientSecretBasic",
        "ClientSecretPost",
        "Clock",
        "ConfigurationError",
        "DPoPKey",
        "IdTokenClaims",
        "InMemoryReplayCache",
        "InsufficientAssurance",
        "Introspection",
        "InvalidProviderResponse",
        "InvalidSignature",
        "IssuerMismatch",
        "LoginRequest",
        "LogoutToken",
        "NoClientAuth",
        "NonceMismatch",
        "OAuthError",
        "PostIDClient",
        "PostIDError",
        "PrivateKeyJwt",
        "ProviderMetadata",
        "ProviderUnavailable",
        "ReplayCache",
        "ReplayedToken",
        "StateMismatch",
        "SubjectMismatch",
        "TokenExpired",
        "TokenSet",
        "TokenValidationError",
        "UnknownSigningKey",
        "UnmetAuthenticationMethods",
        "__version__",
        "amr_satisfies",
        "meets_level",
        "system_clock",
    ]


def test_every_public_name_exists():
    missing = [name for name in postid_client.__all__ if not hasattr(postid_client, name)]

    assert missing == []


def test_every_error_descends_from_the_one_root_and_has_a_code():
    errors = [
        getattr(postid_client, name)
        for name in postid_client.__all__
        if isinstance(getattr(postid_client, name), type) and issubclass(getattr(postid_client, name), Exception)
    ]

    assert all(issubclass(error, postid_client.PostIDError) for error in errors)
    assert len({error.code for error in errors}) == len(errors)


def test_the_sdk_never_imports_the_provider():
    offenders = []
    for path in CLIENTS_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            )
            offenders += [f"{path.name}: {name}" for name in names if name == "idp" or name.startswith("idp.")]

    assert offenders == []


def test_the_package_ships_py_typed_and_depends_only_on_pyjwt_and_httpx():
    project = tomllib.loads((CLIENTS_DIR / "pyproject.toml").read_text())["project"]

    assert (CLIENTS_DIR / "py.typed").exists()
    assert project["name"] == "postid-client"
    assert sorted(project["dependencies"]) == ["PyJWT[crypto]>=2.8", "httpx>=0.27"]
