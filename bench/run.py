"""The benchmark: the provider (SQLite and PostgreSQL), the floor, and panva's oidc-provider on its
three stores (an in-memory Map, the upper bound; Redis; PostgreSQL), loaded in turn by wrk from a
separate process on 127.0.0.1, in one run.

    .venv/bin/python bench/run.py                 # everything, ~10 minutes; writes bench/results/latest.md
    .venv/bin/python bench/run.py --duration 5 --only token-code,userinfo

Needs: wrk (Debian), node + `npm install` in bench/oidc-provider, PostgreSQL at
$IDP_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test; a schema or table of
its own, dropped at the end), Redis at $IDP_BENCH_REDIS_URL (default redis://127.0.0.1:6379; keys
under a prefix of their own, removed at the end). Every server is one process, except the scaling
runs of our provider (--scale: two workers); every load is bounded by --duration.
"""

from __future__ import annotations

import argparse
import compileall
import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from idp.bootstrap import initialise, open_provider  # noqa: E402
from idp.core.accounts import CitizenDeclaration, add_active_citizen  # noqa: E402
from idp.core.client_spec import ClientSpec  # noqa: E402
from idp.core.clients import register_client  # noqa: E402
from idp.crypto.keys import ensure_keys, load_keys  # noqa: E402
from idp.crypto.opaque import digest, pkce_s256  # noqa: E402
from idp.crypto.passwords import PROFILES, PasswordHasher  # noqa: E402
from idp.settings import Settings  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
LUA = ROOT / "bench" / "wrk" / "requests.lua"
REDIRECT_URI = "http://127.0.0.1:9/callback"
PASSWORD = "bench password, long enough to pass"
CITIZEN = CitizenDeclaration(
    id_number="001090000123",
    full_name="Trần Thị Bình",
    birth_date="1990-05-01",
    sex="male",
    phone="0912 345 678",
    email=None,
)
# The login scenario's yardstick hashes with the provider's own profile and worker count.
PASSWORD_PROFILE = "owasp"
PASSWORD_WORKERS = 2
OIDC_PROVIDER_STORES = {
    "oidc-provider": "memory",
    "oidc-provider-redis": "redis",
    "oidc-provider-postgresql": "postgresql",
}
TARGETS = ("sqlite", "postgresql", "floor", *OIDC_PROVIDER_STORES)
SCALED = ("token-code", "userinfo")  # what --scale runs again with two workers
SCENARIOS = ("token-code", "token-refresh", "token-client-credentials", "userinfo", "discovery", "jwks", "login")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server for {url} exited early (status {proc.returncode})")
        time.sleep(0.02)
    raise SystemExit(f"{url} not ready after {timeout}s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's workers), read from /proc."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                pass
    return pids


def settle(pid: int, quiet_ms: float = 5.0, window: float = 0.25, at_most: float = 10.0) -> float:
    """Wait until the server finished what it was serving when the load generator stopped (wrk
    leaves at its deadline with requests in flight: up to two password hashes of 19 MiB each for
    the logins): its process tree's CPU time advances less than `quiet_ms` in `window` seconds.
    Returns the seconds waited."""
    start = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - start < at_most:
        time.sleep(window)
        now = cpu_seconds(pid)
        if (now - before) * 1000 < quiet_ms:
            break
        before = now
    return time.monotonic() - start


def _name_and_ticks(stat: Path) -> tuple[str, int] | None:
    """A process's name and utime + stime (fields 2, 14 and 15 of proc(5)) from its stat file;
    None once it has exited."""
    try:
        text = stat.read_text()
    except OSError:
        return None
    name, _, rest = text.partition(" (")[2].rpartition(") ")
    fields = rest.split()
    return name, int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process tree: what the server spent, whatever else shares the machine."""
    found = [_name_and_ticks(Path(f"/proc/{current}/stat")) for current in _tree(pid)]
    return sum(ticks for _, ticks in filter(None, found)) / os.sysconf("SC_CLK_TCK")


# The program whose processes hold a target's data, by the store's kind.
STORE_PROGRAMS = {"postgresql": "postgres", "redis": "redis-server"}
# Store CPU below a microsecond a request is a tick of the server's background work, not the scenario's.
STORE_USED_MS = 0.001


def program_ticks(program: str) -> dict[int, int]:
    """utime + stime of every process named `program` (a database or Redis server), by pid: what
    the server the load's requests reach spends for them, which the provider's own figure leaves out."""
    ticks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        found = _name_and_ticks(stat)
        if found is not None and found[0] == program:
            ticks[int(stat.parent.name)] = found[1]
    return ticks


def machine_ticks() -> tuple[int, int]:
    """Idle (idle + iowait) and all CPU ticks of the machine since boot, over every core."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[3] + values[4], sum(values[:8])


def largest_rss_mb(pid: int) -> float:
    """The largest resident set in the tree: the supervisor's or one worker's (the target is per process)."""
    sizes = []
    for current in _tree(pid):
        try:
            sizes.append(rss_mb(current))
        except OSError:
            pass
    return max(sizes, default=0.0)


def stop(proc: subprocess.Popen, interrupt: bool = False) -> None:
    """SIGTERM, or SIGINT for py-spy, which writes its profile only when interrupted."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT if interrupt else signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Load:
    """What wrk sends: lines of METHOD, PATH, headers, body; `once` for single-use credentials."""

    lines: list[tuple[str, str, dict[str, str], str]]
    once: bool = False


@dataclass
class Result:
    target: str
    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    note: str = ""
    cpu_ms: float | None = None  # the server's CPU time per request served
    idle: float | None = None  # the machine's idle share of its cores during the load (/proc/stat)
    store_cpu_ms: float | None = None  # the store server's CPU time per request served (PostgreSQL, Redis)


@dataclass
class Run:
    duration: int
    connections: int
    work: Path
    results: list[Result] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    server: int | None = None  # the pid whose process tree `load` charges CPU time to
    store: str | None = None  # the program name of the server holding its data ("postgres", "redis-server")
    startup: dict[str, float] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)
    argon2: dict[str, tuple[float, float]] = field(default_factory=dict)  # verifications/s, CPU ms each

    def load(self, target: str, scenario: str, base: str, load: Load, connections: int | None = None) -> Result:
        path = self.work / f"{target}-{scenario}.txt"
        with path.open("w") as fh:
            for method, target_path, headers, body in load.lines:
                hdr = "|".join(f"{k}: {v}" for k, v in headers.items())
                fh.write(f"{method}\t{target_path}\t{hdr}\t{body}\n")
        env = dict(os.environ, BENCH_REQUESTS=str(path), BENCH_ONCE="1" if load.once else "0")
        conns = connections or self.connections
        cpu_before = cpu_seconds(self.server) if self.server else None
        idle_before, all_before = machine_ticks()
        store_before = program_ticks(self.store) if self.store else {}
        out = subprocess.run(
            ["wrk", "-t1", f"-c{conns}", f"-d{self.duration}s", "--timeout", "10s", "-s", str(LUA), base],
            env=env,
            capture_output=True,
            text=True,
            timeout=self.duration + 60,
        )
        cpu_spent = cpu_seconds(self.server) - cpu_before if self.server and cpu_before is not None else None
        idle_after, all_after = machine_ticks()
        # A backend that connected during the load counts from 0; one that left is lost (the
        # provider and the peers keep their connections open through a scenario).
        store_spent = (
            sum(t - store_before.get(pid, 0) for pid, t in program_ticks(self.store).items()) / os.sysconf("SC_CLK_TCK")
            if self.store
            else None
        )
        # Whether a server could have had more CPU: a share near 0 says every core was taken (by
        # it, by a database server, by wrk), and another worker process could not add throughput.
        idle = (idle_after - idle_before) / (all_after - all_before) if all_after > all_before else None
        match = re.search(r"BENCH_RESULT (\{.*\})", out.stdout)
        if not match:
            raise SystemExit(f"wrk gave no result for {target}/{scenario}: {out.stdout}\n{out.stderr}")
        data = json.loads(match.group(1))
        seconds = data["duration_us"] / 1e6
        note = ""
        # wrk stops the thread when the file is used up, with up to one request a connection still
        # unanswered, and still divides by the whole duration: such a rate is a floor, not a figure.
        if load.once and data["requests"] >= len(load.lines) - conns:
            note = "seeded credentials ran out before the end"
        result = Result(
            target,
            scenario,
            data["requests"] / seconds,
            data["p50_us"] / 1000,
            data["p99_us"] / 1000,
            data["requests"],
            data["status_errors"] + data["socket_errors"],
            note,
            cpu_spent * 1000 / data["requests"] if cpu_spent is not None and data["requests"] else None,
            idle,
            store_spent * 1000 / data["requests"] if store_spent is not None and data["requests"] else None,
        )
        self.results.append(result)
        print(
            f"  {target:22} {scenario:26} {result.rps:9.0f} rps  p50 {result.p50_ms:7.2f} ms  "
            f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}  "
            f"CPU {result.cpu_ms if result.cpu_ms is not None else float('nan'):.3f} ms/req  "
            f"idle {result.idle * 100 if result.idle is not None else float('nan'):.0f}%"
            + (f"  store CPU {result.store_cpu_ms:.3f} ms/req" if result.store_cpu_ms is not None else ""),
            flush=True,
        )
        return result


def form(data: dict[str, str]) -> str:
    return urlencode(data)


def basic(client_id: str, secret: str) -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/x-www-form-urlencoded"}


# ---- our provider ----------------------------------------------------------------------------


def seed_provider(settings: Settings, codes: int, refresh_tokens: int) -> dict[str, object]:
    """A portal, a citizen, and codes and refresh tokens written through the store's own calls."""
    initialise(settings)
    provider = open_provider(settings)
    grant_types = ["authorization_code", "refresh_token", "client_credentials"]
    created = register_client(
        provider,
        ClientSpec(
            name="Bench portal",
            redirect_uris=[REDIRECT_URI],
            scopes=["openid", "profile", "phone", "offline_access"],
            grant_types=grant_types,
        ),
    )
    citizen = add_active_citizen(provider, CITIZEN, PASSWORD)
    now = int(time.time())
    verifier = uuid.uuid4().hex + uuid.uuid4().hex
    challenge = pkce_s256(verifier)
    grants = provider.store.grants

    def grant(scope: str) -> dict[str, object]:
        return {
            "id": uuid.uuid4().hex,
            "citizen_id": citizen.id,
            "client_id": created.client.id,
            "sid": None,
            "scope": scope,
            "auth_time": now,
            "acr": "LoA1",
            "amr": ["pwd"],
            "created_at": now,
            "expires_at": now + 86400,
        }

    def one_code(i: int) -> str:
        code = f"bench-code-{i}-{uuid.uuid4().hex}"
        grants.create_with_code(
            grant("openid profile"),
            {
                "code_digest": digest(code),
                "client_id": created.client.id,
                "redirect_uri": REDIRECT_URI,
                "code_challenge": challenge,
                "nonce": f"n{i}",
                "created_at": now,
                "expires_at": now + 3600,
            },
        )
        return code

    def one_refresh(i: int) -> str:
        token = f"bench-refresh-{i}-{uuid.uuid4().hex}"
        g = grant("openid offline_access")
        code = f"unused-{uuid.uuid4().hex}"
        grants.create_with_code(
            g,
            {
                "code_digest": digest(code),
                "client_id": created.client.id,
                "redirect_uri": REDIRECT_URI,
                "code_challenge": challenge,
                "nonce": None,
                "created_at": now,
                "expires_at": now + 60,
            },
        )
        provider.store.refresh_tokens.add(
            token_digest=digest(token),
            grant_id=str(g["id"]),
            client_id=created.client.id,
            scope="openid offline_access",
            created_at=now,
            expires_at=now + 86400,
        )
        return token

    workers = 1 if settings.effective_database_url.startswith("sqlite") else 6
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        code_list = list(pool.map(one_code, range(codes)))
        refresh_list = list(pool.map(one_refresh, range(refresh_tokens)))
    provider.store.close()
    return {
        "client_id": created.client.id,
        "secret": created.secret,
        "verifier": verifier,
        "codes": code_list,
        "refresh_tokens": refresh_list,
        "grant_types": grant_types,
    }


def interactions_for_login(base: str, client_id: str, count: int) -> list[tuple[str, str, dict[str, str], str]]:
    """Park `count` authorization requests (as browsers would) and return their login POSTs."""
    lines = []
    verifier = uuid.uuid4().hex * 2
    with httpx.Client(base_url=base, timeout=10) as http:
        for i in range(count):
            http.cookies.clear()
            query = urlencode(
                {
                    "client_id": client_id,
                    "redirect_uri": REDIRECT_URI,
                    "response_type": "code",
                    "scope": "openid profile",
                    "state": f"s{i}",
                    "nonce": f"n{i}",
                    "code_challenge": pkce_s256(verifier),
                    "code_challenge_method": "S256",
                }
            )
            parked = http.get(f"/authorize?{query}")
            path = urlsplit(parked.headers["location"]).path
            page = http.get(path)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
            lines.append(
                (
                    "POST",
                    f"{path}/login",
                    {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
                    form({"csrf_token": csrf, "identifier": CITIZEN.id_number, "password": PASSWORD}),
                )
            )
    return lines


def bench_provider(
    run: Run,
    name: str,
    database_url: str,
    keys_dir: Path,
    only: set[str],
    workers: int,
    docs_dir: Path,
    profile: Path | None = None,
    startups: int = 5,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = run.work / f"{name}-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        IDP_ISSUER=base,
        IDP_DATA_DIR=str(data_dir),
        IDP_KEYS_DIR=str(keys_dir),
        IDP_DATABASE_URL=database_url,
        IDP_PASSWORD_PROFILE=PASSWORD_PROFILE,
        IDP_PASSWORD_WORKERS=str(PASSWORD_WORKERS),
        # Every parked login comes from 127.0.0.1; the per-address budget (300 per TTL) would
        # answer most of them temporarily_unavailable.
        IDP_INTERACTIONS_PER_ADDRESS="1000000",
        IDP_HOUSEKEEPING_INTERVAL="0",
        MALLOC_ARENA_MAX="1",
        MALLOC_MMAP_THRESHOLD_="33554432",
        MALLOC_TRIM_THRESHOLD_="1073741824",
        GLIBC_TUNABLES="glibc.malloc.hugetlb=1",
    )  # the allocator as the Dockerfile and scripts/start set it (idp/runtime.py)
    settings = Settings.from_env({k: v for k, v in env.items() if k.startswith("IDP_")})
    # 2,500 a second ran out on SQLite's code exchange on a faster machine (its rate was the cap).
    expected = 6000 * run.duration
    t0 = time.monotonic()
    seeded = seed_provider(
        settings, expected if "token-code" in only else 1, expected if "token-refresh" in only else 0
    )
    print(
        f"  seeded {len(seeded['codes'])} codes and {len(seeded['refresh_tokens'])} refresh tokens "
        f"in {time.monotonic() - t0:.1f}s",
        flush=True,
    )
    log = (run.work / f"{name}.log").open("w")
    if startups:
        startup, startup_cpu = startup_median(env, log, startups)
        run.startup[name] = startup
        run.facts[f"{name} start-up to a ready /readyz"] = (
            f"median {startup:.2f} s of {startups}, {startup_cpu:.2f} s of CPU "
            "(spawn of `idp serve` to the first 200; keys and schema present)"
        )
    command = [PY, "-m", "idp.cli", "serve", "--port", str(port), "--workers", str(workers)]
    if profile is not None:  # py-spy samples the whole run; open the file in speedscope.app
        profile.mkdir(parents=True, exist_ok=True)
        command = [
            str(Path(PY).parent / "py-spy"),
            "record",
            "--subprocesses",
            "--format",
            "speedscope",
            "-o",
            str(profile / f"{name}.speedscope.json"),
            "--",
            *command,
        ]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
    try:
        wait_for(f"{base}/readyz", proc)
        run.server = proc.pid
        run.store = STORE_PROGRAMS.get(database_url.split(":", 1)[0].split("+", 1)[0])  # its scheme
        (docs_dir / "discovery.json").write_bytes(httpx.get(f"{base}/.well-known/openid-configuration").content)
        (docs_dir / "jwks.json").write_bytes(httpx.get(f"{base}/jwks").content)
        auth = basic(str(seeded["client_id"]), str(seeded["secret"]))
        codes = seeded["codes"]
        assert isinstance(codes, list)
        first = httpx.post(
            f"{base}/token",
            headers=auth,
            content=form(
                {
                    "grant_type": "authorization_code",
                    "code": codes.pop(),
                    "redirect_uri": REDIRECT_URI,
                    "code_verifier": str(seeded["verifier"]),
                }
            ),
        )
        assert first.status_code == 200, first.text
        access_token = first.json()["access_token"]
        run_common(
            run,
            name,
            base,
            only,
            auth,
            codes,
            list(seeded["refresh_tokens"]),  # type: ignore[arg-type]
            str(seeded["verifier"]),
            access_token,
            userinfo_path="/userinfo",
        )
        if "login" in only:
            # Enough parked logins that the file cannot run out before argon2 would (it once did: 60 a
            # second capped a machine where argon2 alone allows 120).
            # argon2 alone is measured right before, so both see the same machine (it is often shared).
            alone, alone_cpu = argon2_alone(min(run.duration, 5), PASSWORD_PROFILE, PASSWORD_WORKERS)
            run.argon2[name] = (alone, alone_cpu)
            run.facts[f"argon2 alone, right before {name}'s logins"] = (
                f"{alone:.1f} verifications/s, {alone_cpu:.1f} ms of CPU each ({PASSWORD_PROFILE} profile, "
                f"{PASSWORD_WORKERS} threads = IDP_PASSWORD_WORKERS as the provider runs)"
            )
            lines = interactions_for_login(base, str(seeded["client_id"]), int(alone * 1.5 * run.duration) + 20)
            run.load(name, f"login (argon2id {PASSWORD_PROFILE})", base, Load(lines, once=True), connections=4)
        at_end = largest_rss_mb(proc.pid)
        waited = settle(proc.pid)
        run.rss[name] = largest_rss_mb(proc.pid)
        run.facts[f"{name} resident memory after its scenarios"] = (
            f"{run.rss[name]:.0f} MB once its requests in flight were done ({waited:.1f} s after the load ended; "
            f"{at_end:.0f} MB as it ended)" + (" (the largest worker)" if workers > 1 else "")
        )
    finally:
        run.server = run.store = None
        stop(proc, interrupt=profile is not None)
        log.close()


def startup_median(env: dict[str, str], log: IO[str], times: int) -> tuple[float, float]:
    """Seconds from spawning `idp serve` to its first 200 on /readyz, and the CPU seconds it spent until
    then (what a busy machine cannot inflate), each the median of `times` starts."""
    seconds, cpu = [], []
    for _ in range(times):
        port = free_port()
        started = time.monotonic()
        proc = subprocess.Popen(
            [PY, "-m", "idp.cli", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/readyz", proc)
            seconds.append(time.monotonic() - started)
            cpu.append(cpu_seconds(proc.pid))
        finally:
            stop(proc)
    return statistics.median(seconds), statistics.median(cpu)


def run_common(
    run: Run,
    name: str,
    base: str,
    only: set[str],
    auth: dict[str, str],
    codes: list[str],
    refresh_tokens: list[str],
    verifier: str,
    access_token: str,
    userinfo_path: str,
    client_credentials: bool = True,
) -> None:
    if "token-code" in only:
        run.load(
            name,
            "token: code + PKCE",
            base,
            Load(
                [
                    (
                        "POST",
                        "/token",
                        auth,
                        form(
                            {
                                "grant_type": "authorization_code",
                                "code": c,
                                "redirect_uri": REDIRECT_URI,
                                "code_verifier": verifier,
                            }
                        ),
                    )
                    for c in codes
                ],
                once=True,
            ),
        )
    if "token-refresh" in only and refresh_tokens:
        run.load(
            name,
            "token: refresh (rotation)",
            base,
            Load(
                [
                    ("POST", "/token", auth, form({"grant_type": "refresh_token", "refresh_token": t}))
                    for t in refresh_tokens
                ],
                once=True,
            ),
        )
    if "token-client-credentials" in only and client_credentials:
        probe = httpx.post(f"{base}/token", headers=auth, content=form({"grant_type": "client_credentials"}))
        if probe.status_code == 200:
            run.load(
                name,
                "token: client_credentials",
                base,
                Load([("POST", "/token", auth, form({"grant_type": "client_credentials"}))]),
            )
        else:
            run.facts[f"{name} client_credentials"] = f"not benchmarked: {probe.status_code} {probe.text[:120]}"
    if "userinfo" in only:
        run.load(
            name, "userinfo", base, Load([("GET", userinfo_path, {"Authorization": f"Bearer {access_token}"}, "")])
        )
    if "discovery" in only:
        run.load(name, "discovery", base, Load([("GET", "/.well-known/openid-configuration", {}, "")]))
    if "jwks" in only:
        run.load(name, "jwks", base, Load([("GET", "/jwks", {}, "")]))


# ---- the floor and oidc-provider -------------------------------------------------------------


def bench_floor(run: Run, keys_dir: Path, docs_dir: Path, only: set[str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, BENCH_KEYS_DIR=str(keys_dir), BENCH_DOCS_DIR=str(docs_dir), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [PY, "-m", "uvicorn", "bench.floor:app", "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_for(f"{base}/jwks", proc)
        run.server = proc.pid
        auth = basic("bench", "secret")
        if only & {"token-code", "token-refresh", "token-client-credentials"}:
            run.load(
                "floor",
                "token: sign one JWT",
                base,
                Load(
                    [
                        (
                            "POST",
                            "/token",
                            auth,
                            form(
                                {
                                    "grant_type": "authorization_code",
                                    "code": "x" * 43,
                                    "redirect_uri": REDIRECT_URI,
                                    "code_verifier": "y" * 43,
                                }
                            ),
                        )
                    ]
                ),
            )
        if "discovery" in only:
            run.load("floor", "discovery", base, Load([("GET", "/.well-known/openid-configuration", {}, "")]))
        if "jwks" in only:
            run.load("floor", "jwks", base, Load([("GET", "/jwks", {}, "")]))
    finally:
        run.server = run.store = None
        stop(proc)


def bench_oidc_provider(run: Run, keys_dir: Path, only: set[str], name: str, pg_url: str, redis_url: str) -> None:
    """oidc-provider on one store; a durable store's table or keys are its own (by pid) and removed after."""
    store = OIDC_PROVIDER_STORES[name]
    folder = ROOT / "bench" / "oidc-provider"
    if not (folder / "node_modules" / "oidc-provider").exists() or not (folder / "node_modules" / "pg").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=folder, check=True, timeout=300)
    from jwt.algorithms import ECAlgorithm

    signer = load_keys(keys_dir).signer("ES256")
    jwk = ECAlgorithm.to_jwk(signer.private_key, as_dict=True)
    jwk.update(kid=signer.kid, alg="ES256", use="sig")
    jwk_file = run.work / "es256.jwk.json"
    jwk_file.write_text(json.dumps(jwk))
    jwk_file.chmod(0o600)
    seed_file = run.work / f"{name}-seed.json"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # 4000 a second ran out on a faster machine with the Map (capping its rate); a durable store is slower.
    count = (12000 if store == "memory" else 5000) * run.duration
    log = (run.work / f"{name}.log").open("w")
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            "node",
            "server.mjs",
            str(port),
            str(seed_file),
            str(jwk_file),
            str(count if "token-code" in only else 1),
            str(count if "token-refresh" in only else 1),
            store,
        ],
        cwd=folder,
        env=dict(os.environ, BENCH_DATABASE_URL=pg_url, BENCH_REDIS_URL=redis_url),
        stdout=log,
        stderr=log,
    )
    try:
        wait_for(f"{base}/jwks", proc, timeout=600)
        print(f"  {name} seeded and listening in {time.monotonic() - started:.1f}s", flush=True)
        run.server = proc.pid
        run.store = STORE_PROGRAMS.get(store)
        seed = json.loads(seed_file.read_text())
        auth = basic(seed["client_id"], seed["client_secret"])
        run_common(
            run,
            name,
            base,
            only,
            auth,
            seed["codes"],
            seed["refresh_tokens"],
            seed["verifier"],
            seed["access_token"],
            userinfo_path="/me",
            client_credentials=False,
        )
        at_end = rss_mb(proc.pid)
        waited = settle(proc.pid)
        run.rss[name] = rss_mb(proc.pid)
        run.facts[f"{name} resident memory after its scenarios"] = (
            f"{run.rss[name]:.0f} MB once its requests in flight were done ({waited:.1f} s after the load ended; "
            f"{at_end:.0f} MB as it ended)"
        )
    finally:
        run.server = run.store = None
        stop(proc)  # SIGTERM: the server drops its table or keys itself
        log.close()
        own = f"bench_oidc_provider_{proc.pid}"
        if store == "postgresql":
            subprocess.run(["psql", pg_url, "-qc", f"DROP TABLE IF EXISTS {own}"], check=False, capture_output=True)
        if store == "redis":
            keys = subprocess.run(
                ["redis-cli", "-u", redis_url, "--scan", "--pattern", f"{own}:*"], capture_output=True, text=True
            ).stdout.split()
            for i in range(0, len(keys), 500):
                subprocess.run(["redis-cli", "-u", redis_url, "unlink", *keys[i : i + 500]], capture_output=True)


def argon2_alone(seconds: float, profile: str, threads: int) -> tuple[float, float]:
    """Verifications per second with the provider's profile, `threads` at once, nothing else; and the
    CPU milliseconds each took (this process does nothing else meanwhile)."""
    hasher = PasswordHasher(PROFILES[profile], threads)
    stored = hasher.hash(PASSWORD)
    done = [0] * threads
    deadline = time.monotonic() + seconds

    def loop(i: int) -> None:
        while time.monotonic() < deadline:
            hasher.verify(stored, PASSWORD)
            done[i] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    cpu_before = time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    cpu = time.process_time() - cpu_before
    return sum(done) / seconds, cpu * 1000 / max(1, sum(done))


# ---- report ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    mem = next(
        (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0"
    )
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {int(mem) // 1024 // 1024} GiB; Python {sys.version.split()[0]}, "
        f"node {node}, {pg}, wrk {subprocess.run(['wrk', '-v'], capture_output=True, text=True).stdout.split()[1]}"
    )


def verdict(value: float, target: float, at_least: bool = True) -> str:
    """'met', or 'missed by N%' of the target."""
    if value >= target if at_least else value <= target:
        return "met"
    return f"missed by {abs(target - value) / target:.0%}"


def report(run: Run, command: str) -> str:
    by = {(r.target, r.scenario): r for r in run.results}
    lines = [
        f"Command: `{command}`",
        "",
        f"Machine: {machine()}",
        "",
        "| target | scenario | req/s | p50 ms | p99 ms | requests | errors | CPU ms/req | store CPU ms/req "
        "| machine idle | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in run.results:
        cpu = f"{r.cpu_ms:.3f}" if r.cpu_ms is not None else ""
        idle = f"{r.idle * 100:.0f}%" if r.idle is not None else ""
        store = f"{r.store_cpu_ms:.3f}" if r.store_cpu_ms is not None else ""
        lines.append(
            f"| {r.target} | {r.scenario} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.requests} "
            f"| {r.errors} | {cpu} | {store} | {idle} | {r.note} |"
        )
    lines += [
        "",
        "Targets (same run). Each ratio is by requests a second, then by CPU time per request (the server's",
        "process tree, utime + stime: robust when other work shares the machine; a database or Redis",
        "server's own CPU is in neither side's figure), and where a side's store is a server of its own,",
        "by CPU with that server's CPU added to its side (PostgreSQL's backends, Redis):",
        "",
    ]

    def ratio(a: tuple[str, str], b: tuple[str, str], label: str, target: float | None) -> None:
        if a not in by or b not in by:
            return
        if by[a].errors or by[b].errors:  # an endpoint that answers errors fast is no yardstick
            lines.append(f"- {label}: **void** (errors in the run: {by[a].errors} / {by[b].errors})")
            return
        value = by[a].rps / by[b].rps
        cpu_a, cpu_b = by[a].cpu_ms, by[b].cpu_ms
        if target is None:
            text = f"- {label}: **{value:.2f}×** (upper bound, no target)"
        else:
            text = f"- {label}: **{value:.2f}×** (target ≥ {target}×: {verdict(value, target)})"
        if cpu_a and cpu_b and not a[0].endswith("-2w"):
            by_cpu = cpu_b / cpu_a
            text += f"; by CPU **{by_cpu:.2f}×**" + (f" ({verdict(by_cpu, target)})" if target else "")
        elif cpu_a and cpu_b:
            text += f"; CPU {cpu_a:.3f} vs {cpu_b:.3f} ms/req"
        store_a, store_b = by[a].store_cpu_ms, by[b].store_cpu_ms
        if cpu_a and cpu_b and max(store_a or 0, store_b or 0) >= STORE_USED_MS and not a[0].endswith("-2w"):
            with_store = (cpu_b + (store_b or 0)) / (cpu_a + (store_a or 0))
            text += f"; with its store's server **{with_store:.2f}×**"
        lines.append(text)

    code, refresh = "token: code + PKCE", "token: refresh (rotation)"
    for ours, theirs in (
        ("provider-postgresql", "oidc-provider-postgresql"),
        ("provider-sqlite", "oidc-provider-redis"),
    ):
        for scenario in (code, refresh):
            ratio((ours, scenario), (theirs, scenario), f"{ours} {scenario} vs {theirs}", 1.0)
    for db in ("provider-sqlite", "provider-postgresql"):
        for scenario in (code, refresh):
            ratio((db, scenario), ("oidc-provider", scenario), f"{db} {scenario} vs oidc-provider in memory", None)
    for db in ("provider-sqlite", "provider-postgresql"):
        ratio((db, "userinfo"), ("oidc-provider", "userinfo"), f"{db} userinfo vs oidc-provider in memory", 0.5)
        ratio(
            (db, "token: client_credentials"),
            ("floor", "token: sign one JWT"),
            f"{db} client_credentials vs the floor's one JWT",
            0.7,
        )
        for doc in ("discovery", "jwks"):
            ratio((db, doc), ("floor", doc), f"{db} {doc} vs the floor's bytes", 0.9)
        login = (db, f"login (argon2id {PASSWORD_PROFILE})")
        if login in by and db in run.argon2:
            alone, alone_cpu = run.argon2[db]
            value = by[login].rps / alone
            text = (
                f"- {db} password logins vs argon2id verification alone ({PASSWORD_PROFILE}, {PASSWORD_WORKERS} "
                f"threads): **{value:.2f}×** (target ≥ 0.9×: {verdict(value, 0.9)})"
            )
            if by[login].cpu_ms:
                by_cpu = alone_cpu / by[login].cpu_ms
                text += f"; by CPU **{by_cpu:.2f}×** ({verdict(by_cpu, 0.9)})"
                if (by[login].store_cpu_ms or 0) >= STORE_USED_MS:
                    with_store = alone_cpu / (by[login].cpu_ms + by[login].store_cpu_ms)
                    text += f"; with PostgreSQL's CPU added **{with_store:.2f}×**"
            lines.append(text)
        if db in run.rss:
            rss = run.rss[db]
            lines.append(
                f"- {db} resident memory after its scenarios: **{rss:.0f} MB** (target ≤ 120 MB: "
                + ("met" if rss <= 120 else f"missed by {rss - 120:.0f} MB")
                + ")"
            )
        if db in run.startup:
            value = run.startup[db]
            lines.append(f"- {db} start-up: **{value:.2f} s** (target < 1 s: {verdict(value, 1.0, at_least=False)})")
        for scenario in SCALED:
            label = code if scenario == "token-code" else scenario
            ratio((f"{db}-2w", label), (db, label), f"{db} {label}, 2 workers vs 1", 1.5)
    lines += ["", "Facts:", ""] + [f"- {k}: {v}" for k, v in run.facts.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per scenario (max 60)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="provider processes (the others run one)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated: {','.join(SCENARIOS)}")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated: {','.join(TARGETS)}")
    parser.add_argument(
        "--scale",
        action=argparse.BooleanOptionalAction,
        help="also run code exchange and userinfo with --workers 2 (default: when --workers is 1 and the "
        "machine has 2 cores or more)",
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.md"))
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the provider under py-spy into this folder "
        "(pip install py-spy; the figures of a profiled run are not comparable)",
    )
    args = parser.parse_args()
    args.duration = max(1, min(args.duration, 60))
    only = set(args.only.split(","))
    targets = set(args.targets.split(","))
    unknown = targets - set(TARGETS)
    if unknown:
        raise SystemExit(f"unknown targets {', '.join(sorted(unknown))}: choose from {', '.join(TARGETS)}")
    scale = args.scale if args.scale is not None else args.workers == 1 and (os.cpu_count() or 1) >= 2
    scaled = only & set(SCALED) if scale and args.workers == 1 else set()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="idp-bench-"))
    run = Run(args.duration, args.connections, work)
    # The provider's bytecode, as an installed wheel has it (pip compiles on install; the image is
    # built so): an editable checkout under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every
    # module of ours on every start, and the start-up figure would time the compiler too (the
    # imports of `idp.cli` and `idp.app` took 4,102 M instructions without bytecode, 3,230 M with).
    compileall.compile_dir(ROOT / "idp", quiet=1)
    keys_dir = work / "keys"
    ensure_keys(keys_dir)
    docs_dir = work / "docs"
    docs_dir.mkdir()
    pg_base = os.environ.get("IDP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("IDP_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
    schemas = [f"bench_{uuid.uuid4().hex[:8]}", f"bench_{uuid.uuid4().hex[:8]}"]  # one worker, two workers
    run.facts["load average at the start (1, 5, 15 min)"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        if "sqlite" in targets:
            print("provider on SQLite", flush=True)
            bench_provider(
                run,
                "provider-sqlite",
                f"sqlite:///{work / 'bench.sqlite3'}",
                keys_dir,
                only,
                args.workers,
                docs_dir,
                args.profile,
            )
            if scaled:
                print("provider on SQLite, two workers", flush=True)
                bench_provider(
                    run,
                    "provider-sqlite-2w",
                    f"sqlite:///{work / 'bench-2w.sqlite3'}",
                    keys_dir,
                    scaled,
                    2,
                    docs_dir,
                    args.profile,
                    startups=0,
                )
        if "postgresql" in targets:
            sep = "&" if "?" in pg_base else "?"
            for schema in schemas:
                subprocess.run(["psql", pg_base, "-qc", f'CREATE SCHEMA "{schema}"'], check=True)
            print("provider on PostgreSQL", flush=True)
            bench_provider(
                run,
                "provider-postgresql",
                f"{pg_base}{sep}options=-csearch_path%3D{schemas[0]}",
                keys_dir,
                only,
                args.workers,
                docs_dir,
                args.profile,
            )
            if scaled:
                print("provider on PostgreSQL, two workers", flush=True)
                bench_provider(
                    run,
                    "provider-postgresql-2w",
                    f"{pg_base}{sep}options=-csearch_path%3D{schemas[1]}",
                    keys_dir,
                    scaled,
                    2,
                    docs_dir,
                    args.profile,
                    startups=0,
                )
        if "floor" in targets:
            print("floor", flush=True)
            if not (docs_dir / "jwks.json").exists():
                raise SystemExit("the floor serves the provider's documents: run a provider target first")
            bench_floor(run, keys_dir, docs_dir, only)
        for name in OIDC_PROVIDER_STORES:
            if name in targets:
                print(name, flush=True)
                bench_oidc_provider(run, keys_dir, only, name, pg_base, redis_url)
    finally:
        if "postgresql" in targets:
            quiet = dict(os.environ, PGOPTIONS="-c client_min_messages=warning")
            for schema in schemas:
                subprocess.run(
                    ["psql", pg_base, "-qc", f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'], check=False, env=quiet
                )
    run.facts["load average at the end (1, 5, 15 min)"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(run, "python bench/run.py " + " ".join(sys.argv[1:]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print("\n" + text)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
