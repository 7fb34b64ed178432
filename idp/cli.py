"""The `idp` command: set up, serve, and seed clients and citizens. Output is JSON where a script
would read it; refusals go to stderr naming the field, with exit status 2."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Sequence

from idp.bootstrap import development_warnings, initialise, open_provider
from idp.core.accounts import CitizenDeclaration, add_active_citizen
from idp.core.clients import AUTH_METHODS, ID_TOKEN_ALGS, register_client
from idp.core.scopes import SUPPORTED_SCOPES
from idp.errors import SettingsError, ValidationError
from idp.i18n import refusal
from idp.settings import Settings, parse_issuer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idp", description="PostID-style citizen identity provider")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("init", help="create the schema and the signing keys if missing (idempotent)")

    serve = commands.add_parser("serve", help="run the provider")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="seed a demo portal and citizen, print how to log in")

    clients = commands.add_parser("clients", help="portal clients").add_subparsers(dest="action", required=True)
    add_client = clients.add_parser("add", help="register a portal; prints JSON with client_id (and secret)")
    add_client.add_argument("--name", required=True)
    add_client.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
    add_client.add_argument("--post-logout-redirect-uri", action="append", default=[], dest="logout_uris")
    add_client.add_argument("--auth-method", choices=AUTH_METHODS, default="client_secret_basic")
    add_client.add_argument("--scope", nargs="+", default=None, choices=SUPPORTED_SCOPES, dest="scopes")
    add_client.add_argument("--id-token-alg", choices=ID_TOKEN_ALGS, default="ES256")

    citizens = commands.add_parser("citizens", help="citizen accounts").add_subparsers(dest="action", required=True)
    add_citizen = citizens.add_parser("add", help="create an active citizen with a verified phone")
    add_citizen.add_argument("--citizen-id", required=True)
    add_citizen.add_argument("--name", required=True)
    add_citizen.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    add_citizen.add_argument("--sex", required=True, help="male or female")
    add_citizen.add_argument("--phone", required=True)
    add_citizen.add_argument("--email")
    add_citizen.add_argument("--password-stdin", action="store_true", required=True,
                             help="read the password from standard input")
    return parser


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _warn(settings: Settings, generated: list[str]) -> None:
    lines = development_warnings(settings)
    if generated:
        lines.append(f"generated signing keys in {settings.keys_dir}: {', '.join(generated)}")
    if lines:
        bar = "!" * 78
        print(bar, file=sys.stderr)
        print("!! DEVELOPMENT SET-UP: not for production", file=sys.stderr)
        for line in lines:
            print(f"!!  - {line}", file=sys.stderr)
        print(bar, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        if args.command == "init":
            generated = initialise(settings)
            _print_json({"database": "ready", "keys_dir": str(settings.keys_dir), "generated_keys": generated})
            return 0
        if args.command == "serve":
            return _serve(settings, args)
        provider = open_provider(settings)
        if args.command == "clients":
            created = register_client(
                provider, name=args.name, redirect_uris=args.redirect_uris, post_logout_redirect_uris=args.logout_uris,
                auth_method=args.auth_method, scopes=args.scopes, id_token_alg=args.id_token_alg,
            )
            out: dict[str, object] = {"client_id": created.client.id, "name": created.client.name,
                                      "auth_method": created.client.auth_method,
                                      "redirect_uris": list(created.client.redirect_uris)}
            if created.secret:
                out["client_secret"] = created.secret
            _print_json(out)
            return 0
        if args.command == "citizens":
            password = sys.stdin.readline().rstrip("\r\n")
            citizen = add_active_citizen(provider, CitizenDeclaration(
                citizen_id=args.citizen_id, full_name=args.name, birth_date=args.birth_date, sex=args.sex,
                phone=args.phone, email=args.email), password)
            _print_json({"id": citizen.id, "citizen_id": citizen.citizen_id, "full_name": citizen.full_name,
                         "phone": citizen.phone, "status": citizen.status, "level": citizen.level})
            return 0
    except SettingsError as exc:
        print(f"idp: bad setting {exc.name}: {exc.problem}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"idp: refused: {refusal('en', exc.field, exc.code, exc.params)}", file=sys.stderr)
        return 2
    return 1


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from idp.app import create_app

    if "IDP_ISSUER" not in os.environ:
        # Development default: the issuer follows the address being served, on loopback.
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        try:
            settings = settings.with_overrides(issuer=parse_issuer(f"http://{host}:{args.port}"))
        except ValueError as exc:
            raise SettingsError("IDP_ISSUER", f"not set, and serving on {args.host} needs it: {exc}") from None
    generated = initialise(settings)
    _warn(settings, generated)
    provider = open_provider(settings)
    if args.demo:
        from idp.demo import seed

        print(seed(provider), file=sys.stderr)
    uvicorn.run(create_app(provider), host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
