"""`python -m postid_client.testing --port 9000`: the mock provider as a server of its own, for portals
written in any language (needs uvicorn: `pip install "postid-client[testing]"`).

It serves the same endpoints as the real provider plus the control API under `/mock/`
(`postid_client/testing/control.py`): register clients, choose the citizen, inject failures,
log a citizen out, rotate keys.
"""

from __future__ import annotations

import argparse
import sys

from .citizens import LOGIN_METHODS, SUPPORTED_SCOPES
from .provider import MockProvider


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m postid_client.testing", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--issuer", help="default http://HOST:PORT")
    parser.add_argument("--client-id", help="register one portal at start (more through POST /mock/clients)")
    parser.add_argument(
        "--client-secret",
        help="client_secret_basic; without it the portal is a public client "
        "(write --client-secret=VALUE when VALUE begins with '-')",
    )
    parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    parser.add_argument("--post-logout-redirect-uri", action="append", default=[], dest="logout_uris")
    parser.add_argument("--backchannel-logout-uri")
    parser.add_argument(
        "--scope",
        nargs="+",
        dest="scopes",
        choices=SUPPORTED_SCOPES,
        help="what the portal may ask for (default: all but citizen_id, national_profile)",
    )
    parser.add_argument("--require-par", action="store_true")
    parser.add_argument("--require-dpop", action="store_true")
    parser.add_argument("--login-as", help="auto-approve every login as this citizen (citizen-lan, citizen-minh)")
    parser.add_argument(
        "--login-method",
        choices=sorted(LOGIN_METHODS),
        help="with --login-as: log in with a passkey (amr hwk user mfa, the account's level)",
    )
    parser.add_argument("--no-dpop-nonce", action="store_true", help="accept DPoP proofs without the server nonce")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import uvicorn

    from .asgi import asgi_app

    issuer = args.issuer or f"http://{args.host}:{args.port}"
    provider = MockProvider(issuer, control_api=True, dpop_nonces=not args.no_dpop_nonce)
    if args.client_id:
        if not args.redirect_uris:
            print("--client-id needs at least one --redirect-uri", file=sys.stderr)
            return 2
        provider.register_client(
            args.client_id,
            redirect_uris=args.redirect_uris,
            client_secret=args.client_secret,
            post_logout_redirect_uris=args.logout_uris,
            backchannel_logout_uri=args.backchannel_logout_uri,
            **({"scopes": args.scopes} if args.scopes else {}),
            require_par=args.require_par,
            require_dpop=args.require_dpop,
        )
    if args.login_as:
        provider.login_as(args.login_as, method=args.login_method)
    elif args.login_method:
        print("--login-method needs --login-as", file=sys.stderr)
        return 2
    print(f"PostID mock provider (for tests only) at {issuer}", flush=True)
    uvicorn.run(asgi_app(provider), host=args.host, port=args.port, log_level="warning", lifespan="off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
