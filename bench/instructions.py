"""Instructions a request costs in the app's own Python stack: a figure that does not move with
whatever else the machine runs, for before/after pairs of small changes (`bench/run.py`'s
requests a second moved by ±30% within minutes on a shared machine, CPU time by ±20%).

The app's ASGI callable is driven directly (no uvicorn, no sockets) on SQLite (or, with
`--database postgresql`, on PostgreSQL through the serving loop's asyncio connections: the
driver's round trips are in the count, the server's own work is not), after a warm-up,
under valgrind's callgrind with collection switched on only around the measured requests
(`callgrind_control -i on|off`). Counts repeat to a few parts in a thousand for the same code.

    apt-get install valgrind
    .venv/bin/python bench/instructions.py                      # every case, this checkout's code
    .venv/bin/python bench/instructions.py userinfo --requests 500
    .venv/bin/python bench/instructions.py userinfo code --database postgresql   # $IDP_BENCH_DATABASE_URL
    .venv/bin/python bench/instructions.py code --profile   # where: cProfile's top functions instead
    SORT=cumulative TOP=80 .venv/bin/python bench/instructions.py login --profile
    .venv/bin/python bench/instructions.py userinfo --cpu --requests 2000  # CPU time instead (noisy)
    .venv/bin/python bench/instructions.py userinfo --keep /tmp/cg   # then: callgrind_annotate --inclusive=yes
    # before/after: run it in a worktree of the older commit and in this one

Cases: healthz (the middleware alone), client_credentials, userinfo (an access token from a
code exchange), code (code exchange + PKCE: one seeded code each), refresh (a rotation: one
seeded refresh token each), login (the login form's POST
for an authorization parked beforehand, with the tests' cheap password profile, so what is
counted is everything but the argon2 hash). Keys and database are made
once per run in a temporary folder and copied for each case, so no case pays for key generation;
on PostgreSQL each case gets a schema of its own, seeded before it and dropped after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging.config
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CASES = ("healthz", "client_credentials", "userinfo", "code", "refresh", "login")
WARM_UP = 200


def _env(folder: Path) -> dict[str, str]:
    database = (folder / "database_url").read_text() if (folder / "database_url").exists() else ""
    return {
        "IDP_ISSUER": "http://127.0.0.1:8000",
        "IDP_DATA_DIR": str(folder / "data"),
        "IDP_KEYS_DIR": str(folder / "keys"),
        "IDP_DATABASE_URL": database or f"sqlite:///{folder / 'idp.sqlite3'}",
        "IDP_PASSWORD_PROFILE": "tests",
        "IDP_HOUSEKEEPING_INTERVAL": "0",
        "IDP_INTERACTIONS_PER_ADDRESS": "1000000",  # every login is parked from 127.0.0.1
    }


def prepare(folder: Path, codes: int, database_url: str = "") -> None:
    """Keys, schema, a portal, a citizen, `codes` codes and as many refresh tokens, through the
    store's own calls; in SQLite in `folder`, or in `database_url` when given."""
    import run as bench

    from idp.settings import Settings

    folder.mkdir(parents=True, exist_ok=True)
    if database_url:
        (folder / "database_url").write_text(database_url)
    seeded = bench.seed_provider(Settings.from_env(_env(folder)), codes, codes)
    keep = {k: seeded[k] for k in ("client_id", "secret", "codes", "refresh_tokens", "verifier")}
    (folder / "seeded.json").write_text(json.dumps(keep))


def serve_case(folder: Path, case: str, requests: int, profile: bool = False, cpu: bool = False) -> None:
    """The child: warm up, say READY, wait for a line, run the requests, say DONE, wait, exit.
    With `profile`, no valgrind: the requests run under cProfile and its top entries are printed;
    with `cpu`, no valgrind either: this process's user and system CPU time a request."""
    import run as bench

    from idp.app import create_app
    from idp.bootstrap import open_provider
    from idp.observability import log_config
    from idp.settings import Settings

    seeded = json.loads((folder / "seeded.json").read_text())
    logging.config.dictConfig(log_config("json"))  # the access line as a served process writes it
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the parking client's own lines
    app = create_app(open_provider(Settings.from_env(_env(folder))))
    auth = bench.basic(seeded["client_id"], seeded["secret"])

    def scope(method: str, path: str, headers: dict[str, str]) -> dict[str, object]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in {"user-agent": "bench", **headers}.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    async def call(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        await app(scope(method, path, headers), receive, send)
        return int(sent[0]["status"]), bytes(sent[-1].get("body", b""))  # type: ignore[call-overload, arg-type]

    # Bodies made before the measured requests, so the client's urlencode is not counted.
    token_headers = {**auth, "Content-Length": "0"}

    def token(body: bytes) -> Awaitable[tuple[int, bytes]]:
        return call("POST", "/token", {**token_headers, "Content-Length": str(len(body))}, body)

    exchanges = [
        urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": bench.REDIRECT_URI,
                "code_verifier": seeded["verifier"],
            }
        ).encode()
        for code in seeded["codes"]
    ]

    def exchange() -> Awaitable[tuple[int, bytes]]:
        return token(exchanges.pop())

    refreshes = [
        urlencode({"grant_type": "refresh_token", "refresh_token": refresh}).encode()
        for refresh in seeded["refresh_tokens"]
    ]

    def refresh() -> Awaitable[tuple[int, bytes]]:
        return token(refreshes.pop())

    logins: list[tuple[str, dict[str, str], bytes]] = []

    async def park(count: int) -> None:
        """`count` authorizations parked at the login form, as a browser leaves them."""
        import re
        from urllib.parse import urlsplit

        import httpx

        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            for i in range(count):
                http.cookies.clear()
                query = {
                    "client_id": seeded["client_id"],
                    "redirect_uri": bench.REDIRECT_URI,
                    "response_type": "code",
                    "scope": "openid profile",
                    "state": f"s{i}",
                    "nonce": f"n{i}",
                    "code_challenge": bench.pkce_s256(seeded["verifier"]),
                    "code_challenge_method": "S256",
                }
                parked = await http.get("/authorize", params=query)
                path = urlsplit(parked.headers["location"]).path
                page = await http.get(path)
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                assert csrf is not None, page.text
                cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
                body = urlencode(
                    {"csrf_token": csrf.group(1), "identifier": bench.CITIZEN.id_number, "password": bench.PASSWORD}
                ).encode()
                headers = {
                    "Cookie": cookie,
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Content-Length": str(len(body)),
                }
                logins.append((f"{path}/login", headers, body))

    def login() -> Awaitable[tuple[int, bytes]]:
        path, headers, body = logins.pop()
        return call("POST", path, headers, body)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with app.router.lifespan_context(app):
            status, body = await exchange()
            assert status == 200, body
            if case == "login":
                await park(WARM_UP + requests)
            access_token = json.loads(body)["access_token"]
            cases: dict[str, Callable[[], Awaitable[tuple[int, bytes]]]] = {
                "healthz": lambda: call("GET", "/healthz", {}),
                "client_credentials": lambda: token(b"grant_type=client_credentials"),
                "userinfo": lambda: call("GET", "/userinfo", {"Authorization": f"Bearer {access_token}"}),
                "code": exchange,
                "refresh": refresh,
                "login": login,
            }
            one = cases[case]
            for _ in range(WARM_UP):
                status, body = await one()
                assert status == (303 if case == "login" else 200), (status, body)
            if cpu:
                import resource

                before = resource.getrusage(resource.RUSAGE_SELF)
                for _ in range(requests):
                    await one()
                after = resource.getrusage(resource.RUSAGE_SELF)
                user = (after.ru_utime - before.ru_utime) / requests * 1e6
                system = (after.ru_stime - before.ru_stime) / requests * 1e6
                print(f"{case:20s} {user:8.1f} µs user {system:8.1f} µs system a request", flush=True)
                return
            if profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(requests):
                    await one()
                profiler.disable()
                order, top = os.environ.get("SORT", "tottime"), int(os.environ.get("TOP", "30"))
                pstats.Stats(profiler).sort_stats(order).print_stats(top)
                return
            print("READY", flush=True)
            await loop.run_in_executor(None, sys.stdin.readline)
            for _ in range(requests):
                await one()
            print("DONE", flush=True)
            await loop.run_in_executor(None, sys.stdin.readline)

    # The served process's loop (uvicorn takes uvloop when it is installed): much of a PostgreSQL
    # round trip's cost is the loop's.
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


def measure(prepared: Path, case: str, requests: int, keep: Path | None = None) -> float:
    """Thousands of instructions a request, counted by callgrind around the `requests` alone;
    callgrind's file is copied to `keep` (for callgrind_annotate) when given."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "case"
        shutil.copytree(prepared, folder)
        out = Path(scratch) / "callgrind.out"
        env = {**os.environ, "PYTHONHASHSEED": "0", "MALLOC_ARENA_MAX": "1"}
        child = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--child",
                str(folder),
                case,
                "--requests",
                str(requests),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            if child.stdout.readline().strip() != "READY":
                raise SystemExit(f"{case}: the child did not start (run it without valgrind to see why)")
            subprocess.run(["callgrind_control", "-i", "on", str(child.pid)], check=True, capture_output=True)
            child.stdin.write("\n")
            child.stdin.flush()
            if child.stdout.readline().strip() != "DONE":
                raise SystemExit(f"{case}: the child stopped before its requests were done")
            subprocess.run(["callgrind_control", "-i", "off", str(child.pid)], check=True, capture_output=True)
            child.stdin.write("\n")
            child.stdin.flush()
            child.wait(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
        if keep is not None:
            shutil.copyfile(out, keep)
        totals = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
        assert totals is not None, "callgrind wrote no totals"
        return int(totals.group(1)) / requests / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"of {', '.join(CASES)} (default: all)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="cProfile's top functions, no valgrind")
    parser.add_argument("--keep", type=Path, metavar="FOLDER", help="keep callgrind's file of each case here")
    parser.add_argument("--cpu", action="store_true", help="CPU time a request (user, system), no valgrind")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--child", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.cases = args.cases or list(CASES)
    if unknown := set(args.cases) - set(CASES):
        parser.error(f"unknown case {', '.join(sorted(unknown))}: choose from {', '.join(CASES)}")
    if args.child:
        serve_case(Path(args.child), args.cases[0], args.requests)
        return
    if shutil.which("valgrind") is None and not (args.profile or args.cpu):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    codes = 1 + WARM_UP + args.requests
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared"
        if args.database == "sqlite":
            prepare(prepared, codes)
        for case in args.cases:
            with _postgresql_schema() if args.database == "postgresql" else contextlib.nullcontext("") as url:
                if url:
                    shutil.rmtree(prepared, ignore_errors=True)
                    prepare(prepared, codes, url)
                if args.profile or args.cpu:
                    if args.profile:
                        print(f"== {case}", flush=True)
                    fresh = Path(scratch) / case  # a copy: each case spends codes of its own
                    shutil.copytree(prepared, fresh)
                    serve_case(fresh, case, args.requests, profile=args.profile, cpu=args.cpu)
                    continue
                keep = None
                if args.keep is not None:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    keep = args.keep / f"callgrind.{case}.{args.database}.out"
                counted = measure(prepared, case, args.requests, keep)
                print(f"{case:20s} {counted:8.1f} k instructions a request", flush=True)


@contextlib.contextmanager
def _postgresql_schema() -> Iterator[str]:
    """A schema of its own in $IDP_BENCH_DATABASE_URL's database for one case, dropped after it."""
    base = os.environ.get("IDP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", base, "-qc", f'CREATE SCHEMA "{schema}"'], check=True)
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        drop = f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'
        subprocess.run(["psql", base, "-qc", drop], check=False, capture_output=True)


if __name__ == "__main__":
    main()
