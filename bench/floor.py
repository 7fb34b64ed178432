"""The floor: a bare Starlette app that does the least a token endpoint can do (read the form,
sign one ES256 JWT with the provider's key, answer JSON), and serves discovery and JWKS as the
same precomputed bytes. Run by bench/run.py under the same uvicorn as the provider.

Environment: BENCH_KEYS_DIR (the provider's keys folder), BENCH_DOCS_DIR (discovery.json and
jwks.json as the provider serves them)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_keys = Path(os.environ["BENCH_KEYS_DIR"])
_docs = Path(os.environ["BENCH_DOCS_DIR"])
_pem = next(_keys.glob("es256-*.pem"))
_key = serialization.load_pem_private_key(_pem.read_bytes(), password=None)
_kid = _pem.name.removeprefix("es256-").removesuffix(".pem")
_discovery = (_docs / "discovery.json").read_bytes()
_jwks = (_docs / "jwks.json").read_bytes()
_cache = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}


async def token(request: Request) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}  # no multipart dependency
    now = int(time.time())
    access_token = jwt.encode(
        {
            "iss": "http://127.0.0.1",
            "sub": "citizen",
            "aud": "http://127.0.0.1",
            "client_id": "bench",
            "iat": now,
            "exp": now + 300,
            "jti": os.urandom(12).hex(),
            "scope": "openid profile",
            "grant_type": form.get("grant_type"),
        },
        _key,
        algorithm="ES256",
        headers={"kid": _kid, "typ": "at+jwt"},
    )
    body = json.dumps({"access_token": access_token, "token_type": "Bearer", "expires_in": 300})
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


async def discovery(request: Request) -> Response:
    return Response(_discovery, media_type="application/json", headers=_cache)


async def jwks(request: Request) -> Response:
    return Response(_jwks, media_type="application/jwk-set+json", headers=_cache)


app = Starlette(
    routes=[
        Route("/token", token, methods=["POST"]),
        Route("/.well-known/openid-configuration", discovery),
        Route("/jwks", jwks),
    ]
)
