"""The `idp` command: set up, serve, and seed clients and citizens. Output is JSON where a script
would read it; refusals go to stderr naming the field, with exit status 2."""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import sys
from collections.abc import Sequence

from idp import admin_cli, ops_cli
from idp.bootstrap import development_warnings, initialise, open_provider
from idp.core.accounts import CitizenDeclaration, add_active_citizen
from idp.core.client_spec import AUTH_METHODS, GRANT_TYPES, PROFILES, SUBJECT_TYPES, ClientSpec, parse_jwks
from idp.core.clients import register_client
from idp.core.levels import LEVELS, LOA1
from idp.core.scopes import SUPPORTED_SCOPES
from idp.crypto.keys import SIGNING_ALGS
from idp.errors import SettingsError, ValidationError
from idp.files import keep_private, storage_warnings
from idp.i18n import refusal
from idp.settings import Settings, parse_issuer
from idp.store.faults import classify as storage_fault

log = logging.getLogger("idp")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idp", description="PostID-style citizen identity provider")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("init", help="create the schema and the signing keys if missing (idempotent)")

    serve = commands.add_parser("serve", help="run the provider")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="seed a demo portal and citizen, print how to log in")
    serve.add_argument(
        "--rotate-demo",
        action="store_true",
        help="with --demo: new demo credentials (otherwise those kept in the data folder are reused)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="provider processes on this port (each its own event loop and database pool)",
    )
    ops_cli.add_commands(commands)
    admin_cli.add_commands(commands)

    clients = commands.add_parser("clients", help="portal clients").add_subparsers(dest="action", required=True)
    add_client = clients.add_parser("add", help="register a portal; prints JSON with client_id (and secret)")
    add_client.add_argument("--name", required=True)
    add_client.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        dest="redirect_uris",
        help="required unless the client only uses client_credentials",
    )
    add_client.add_argument("--post-logout-redirect-uri", action="append", default=[], dest="logout_uris")
    add_client.add_argument("--auth-method", choices=AUTH_METHODS, default="client_secret_basic")
    add_client.add_argument(
        "--scope",
        nargs="+",
        default=None,
        dest="scopes",
        help=f"OIDC scopes ({', '.join(SUPPORTED_SCOPES)}) and API scopes for client_credentials",
    )
    add_client.add_argument("--id-token-alg", choices=SIGNING_ALGS, default="ES256")
    add_client.add_argument("--grant-type", action="append", choices=GRANT_TYPES, dest="grant_types")
    add_client.add_argument("--subject-type", choices=SUBJECT_TYPES, default="pairwise")
    add_client.add_argument("--sector-id", help="portals sharing a sector see one pairwise subject")
    add_client.add_argument("--jwks-file", help="the client's public JWKS, for private_key_jwt")
    add_client.add_argument("--jwks-uri", help="where the client publishes its JWKS, for private_key_jwt")
    add_client.add_argument("--backchannel-logout-uri")
    add_client.add_argument("--require-par", action="store_true")
    add_client.add_argument("--require-dpop", action="store_true")
    add_client.add_argument(
        "--profile",
        choices=PROFILES,
        default=PROFILES[0],
        help="fapi2: the FAPI 2.0 Security Profile (PAR, DPoP, private_key_jwt with aud = the issuer, no RS256,"
        " no refresh rotation, codes <= 60 s, access tokens <= 10 min); needs --auth-method private_key_jwt",
    )
    add_client.add_argument(
        "--min-level",
        choices=LEVELS,
        default=LOA1,
        help="the lowest level this portal accepts, whatever it asks for",
    )

    citizens = commands.add_parser("citizens", help="citizen accounts").add_subparsers(dest="action", required=True)
    add_citizen = citizens.add_parser("add", help="create an active citizen with a verified phone")
    add_citizen.add_argument("--citizen-id", required=True)
    add_citizen.add_argument("--name", required=True)
    add_citizen.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    add_citizen.add_argument("--sex", required=True, help="male or female")
    add_citizen.add_argument("--phone", required=True)
    add_citizen.add_argument("--email")
    add_citizen.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from standard input"
    )
    return parser


def _read_jwks(path: str | None) -> dict[str, object] | None:
    if path is None:
        return None
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, ValueError):
        raise ValidationError("jwks", "jwks") from None
    return parse_jwks(text)


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
    keep_private()  # before anything is created: database, WAL, keys, outbox (SECURITY.md "Files at rest")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        if args.command == "init":
            generated = initialise(settings)
            _print_json({"database": "ready", "keys_dir": str(settings.keys_dir), "generated_keys": generated})
            return 0
        if args.command == "serve":
            return _serve(settings, args)
        if ops_cli.handles(args.command):
            return ops_cli.run(settings, args)
        if admin_cli.handles(args.command):
            return admin_cli.run(settings, args)
        provider = open_provider(settings)
        if args.command == "clients":
            created = register_client(
                provider,
                ClientSpec(
                    name=args.name,
                    redirect_uris=args.redirect_uris,
                    post_logout_redirect_uris=args.logout_uris,
                    grant_types=args.grant_types or (),
                    subject_type=args.subject_type,
                    sector_id=args.sector_id,
                    jwks=_read_jwks(args.jwks_file),
                    jwks_uri=args.jwks_uri,
                    backchannel_logout_uri=args.backchannel_logout_uri,
                    require_par=args.require_par,
                    require_dpop=args.require_dpop,
                    profile=args.profile,
                    min_level=args.min_level,
                    auth_method=args.auth_method,
                    scopes=args.scopes or (),
                    id_token_alg=args.id_token_alg,
                ),
            )
            out: dict[str, object] = {
                "client_id": created.client.id,
                "name": created.client.name,
                "auth_method": created.client.auth_method,
                "redirect_uris": list(created.client.redirect_uris),
                "profile": created.client.profile,
            }
            if created.secret:
                out["client_secret"] = created.secret
            _print_json(out)
            return 0
        if args.command == "citizens":
            password = sys.stdin.readline().rstrip("\r\n")
            citizen = add_active_citizen(
                provider,
                CitizenDeclaration(
                    id_number=args.citizen_id,
                    full_name=args.name,
                    birth_date=args.birth_date,
                    sex=args.sex,
                    phone=args.phone,
                    email=args.email,
                ),
                password,
            )
            _print_json(
                {
                    "id": citizen.id,
                    "citizen_id": citizen.id_number,
                    "full_name": citizen.full_name,
                    "phone": citizen.phone,
                    "status": citizen.status,
                    "level": citizen.level,
                }
            )
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

    from idp.http.metrics import start_listener
    from idp.observability import log_config
    from idp.runtime import tune_malloc
    from idp.store.database import Database
    from idp.store.engine import make_engine
    from idp.store.housekeeping import Housekeeping
    from idp.worker_sockets import run_workers

    # Before any thread allocates: this process (one worker) takes the limits now; spawned workers
    # read them from the environment when they start.
    tune_malloc()

    if "IDP_ISSUER" not in os.environ:
        # Development default: the issuer follows the port being served, on loopback. It names the
        # loopback interface `localhost` rather than 127.0.0.1 because browsers refuse WebAuthn
        # (passkeys) on an IP-address origin; the listener stays on 127.0.0.1 (`--host`).
        host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
        try:
            settings = settings.with_overrides(issuer=parse_issuer(f"http://{host}:{args.port}"))
        except ValueError as exc:
            raise SettingsError("IDP_ISSUER", f"not set, and serving on {args.host} needs it: {exc}") from None
    if args.workers < 1:
        raise SettingsError("--workers", "must be 1 or more")
    if args.demo and "IDP_OUTBOUND_ALLOW_PRIVATE" not in os.environ:
        # The demo portal listens on 127.0.0.1 (its back-channel logout URI): the demo, and only the
        # demo, lets outbound requests reach loopback unless the operator said otherwise.
        settings = settings.with_overrides(outbound_allow_private=True)
        os.environ["IDP_OUTBOUND_ALLOW_PRIVATE"] = "true"
    for problem in storage_warnings(settings):
        log.warning("%s", problem)
    try:
        generated = initialise(settings)
    except Exception as exc:
        fault = storage_fault(exc)
        if fault is None:
            raise
        # Serve anyway: readiness says 503 and every write is a 503 until the storage is fixed.
        log.error("could not prepare the database (%s: %s); serving, not ready", fault.cause, fault.detail)
        generated = []
    _warn(settings, generated)
    if args.demo:
        from idp.demo import seed

        provider = open_provider(settings)
        print(seed(provider, rotate=args.rotate_demo), file=sys.stderr)
        provider.store.close()
    # Each worker builds its own provider from the environment (`idp.app:app_from_env`), so the
    # issuer chosen above must travel with it; with several workers the metrics are shared
    # through a private folder (prometheus_client's multiprocess mode).
    os.environ["IDP_ISSUER"] = settings.issuer
    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        metrics_dir = tempfile.mkdtemp(prefix="idp-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    # Metrics on their own listener (IDP_METRICS_ADDRESS), started here once for every worker. The
    # outbox gauge needs the database alone, not a provider (keys, outbound clients) nor a `Store`.
    metrics_db = Database(make_engine(settings.effective_database_url)) if settings.metrics_address else None
    listener = start_listener(settings.metrics_address, Housekeeping(metrics_db).outbox_pending if metrics_db else None)
    options = dict(
        factory=True,
        host=args.host,
        port=args.port,
        log_config=log_config(settings.log_format),
        access_log=False,
        # X-Forwarded-For is believed only from the proxies named in IDP_TRUSTED_PROXIES.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    try:
        if args.workers > 1:
            run_workers("idp.app:app_from_env", args.workers, **options)  # each on a socket of its own
        else:
            uvicorn.run("idp.app:app_from_env", **options)
    finally:
        if listener is not None:
            listener.close()
        if metrics_db is not None:
            metrics_db.close()
            metrics_db.engine.dispose()
        if metrics_dir:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
