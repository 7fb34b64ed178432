"""Health, readiness, metrics, request ids, housekeeping, schema checks, the Dockerfile and the compose file."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import yaml

from idp.cli import main
from idp.errors import SettingsError
from idp.housekeeping import Housekeeper
from idp.http.metrics import start_listener
from idp.observability import REQUEST_ID
from idp.settings import Settings
from tests.helpers import Pkce, add_citizen, add_portal, exchange, login_and_consent

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_ok_without_touching_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_the_database_and_keys_reachable(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "storage": "ok", "keys": "ok"}


def test_readyz_is_unavailable_when_the_database_is_gone(client, provider):
    provider.store.engine.dispose()
    provider.store.engine.url = (
        provider.store.engine.url.set(database="/nonexistent/dir/db.sqlite3")
        if provider.store.engine.url.get_backend_name() == "sqlite"
        else provider.store.engine.url.set(port=1)
    )
    from sqlalchemy import create_engine

    broken = create_engine(
        provider.store.engine.url,
        connect_args={"connect_timeout": 1} if provider.store.engine.url.get_backend_name() == "postgresql" else {},
    )
    provider.store.engine = broken

    response = client.get("/readyz")

    assert response.status_code == 503 and response.json()["checks"]["database"] == "failing"


def test_every_answer_carries_a_request_id_and_a_well_formed_incoming_one_is_kept(client):
    fresh = client.get("/healthz")
    kept = client.get("/healthz", headers={"X-Request-ID": "proxy-id-0123456789"})
    refused = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})

    assert len(fresh.headers["x-request-id"]) == 24
    assert kept.headers["x-request-id"] == "proxy-id-0123456789"
    assert refused.headers["x-request-id"] != "bad id\nwith newline"
    assert REQUEST_ID.get() == "-"  # reset after each request


def test_metrics_count_requests_logins_and_tokens_by_label(client, provider, metrics):
    portal = add_portal(provider, scopes=["openid", "profile", "phone"])
    citizen, password = add_citizen(provider)
    pkce = Pkce()
    callback = login_and_consent(client, portal, citizen.id_number, password, pkce=pkce)
    assert exchange(client, portal, callback["code"], pkce).status_code == 200

    text = metrics()

    assert 'idp_http_requests_total{endpoint="/token",method="POST",status="200"}' in text
    assert 'idp_logins_total{outcome="success"}' in text
    assert 'idp_tokens_issued_total{grant_type="authorization_code"}' in text
    assert "idp_http_request_duration_seconds_bucket" in text
    assert "idp_outbox_pending 0.0" in text


def test_the_public_port_answers_404_for_metrics(client):
    response = client.get("/metrics")

    assert response.status_code == 404 and "idp_http_requests_total" not in response.text


def test_the_metrics_listener_is_on_loopback_unless_the_operator_moves_it():
    assert Settings().metrics_address == "127.0.0.1:9464"
    assert Settings.from_env({"IDP_METRICS_ADDRESS": "0.0.0.0:9464"}).metrics_address == "0.0.0.0:9464"
    assert Settings.from_env({"IDP_METRICS_ADDRESS": ""}).metrics_address == ""
    with pytest.raises(SettingsError, match="IDP_METRICS_ADDRESS"):
        Settings.from_env({"IDP_METRICS_ADDRESS": "9464"})


def test_the_metrics_scrape_still_answers_when_the_database_cannot_count_the_outbox(provider):
    def broken() -> int:
        raise OSError("database down")

    listener = start_listener("127.0.0.1:0", broken)
    assert listener is not None
    try:
        text = httpx.get(listener.url, timeout=5).text
    finally:
        listener.close()

    assert "idp_http_requests_total" in text and "idp_outbox_pending" not in text


def test_housekeeping_prunes_expired_codes_sessions_and_interactions_but_keeps_live_ones(client, provider, clock):
    portal = add_portal(provider, scopes=["openid", "profile", "phone"])
    citizen, password = add_citizen(provider)
    login_and_consent(client, portal, citizen.id_number, password)  # a code, a session, an interaction
    keeper = Housekeeper(provider)
    before = keeper.repo.counts()

    nothing_yet = keeper.run_once()
    clock.advance(provider.settings.session_max_ttl + 2 * 3600)
    pruned = keeper.run_once()

    assert sum(nothing_yet.values()) == 0
    assert before["authorization_code"] == 1 and pruned["authorization_code"] == 1
    assert pruned["browser_session"] == 1 and pruned["interaction"] == 1
    assert keeper.repo.counts()["auth_grant"] == before["auth_grant"]  # the grant lives as long as its refresh life


def test_only_one_caller_per_interval_wins_the_housekeeping_lease(provider, clock):
    first, second = Housekeeper(provider), Housekeeper(provider)

    wins = [first.take_lease(300), second.take_lease(300)]
    clock.advance(301)
    later = second.take_lease(300)

    assert wins == [True, False] and later is True


def test_db_check_says_current_after_upgrade_and_behind_on_an_empty_database(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IDP_KEYS_DIR", str(tmp_path / "keys"))

    empty = main(["db", "check"])
    empty_state = json.loads(capsys.readouterr().out)["state"]
    upgraded = main(["db", "upgrade"])
    capsys.readouterr()
    current = main(["db", "check"])
    current_state = json.loads(capsys.readouterr().out)

    assert (empty, empty_state) == (1, "empty")
    assert upgraded == 0
    assert current == 0 and current_state["state"] == "current" and current_state["drift"] == []


def test_the_compose_file_runs_postgres_two_replicas_and_a_proxy_with_secrets_from_files():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    replicas = [s for name, s in services.items() if name.startswith("idp-")]

    assert {"postgres", "nginx", "migrate"} <= set(services)
    assert len(replicas) >= 2
    for replica in replicas:
        assert "--workers" in replica["command"]
        assert replica["environment"]["IDP_ISSUER"].startswith("https://")
        assert "postgres_password" in replica["secrets"]
        assert not any("PASSWORD=" in str(v) or "password:" in str(v).lower() for v in replica["environment"].values())
        assert replica["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert all(Path(ROOT / s["file"].lstrip("./")).parent.name == "secrets" for s in compose["secrets"].values())
    assert (ROOT / "deploy" / "nginx.conf").exists() and (ROOT / "deploy" / "entrypoint.sh").exists()
    assert services["nginx"]["ports"] == ["443:443", "80:80"]


def _final_stage() -> str:
    stages = (ROOT / "Dockerfile").read_text().split("\nFROM ")
    assert len(stages) == 3  # the comments, the build stage, the final stage
    return stages[-1]


def _load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy" / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_image_runs_as_uid_and_gid_10001_with_workers():
    final = _final_stage()

    assert "USER 10001:10001" in final and "groupadd --system --gid 10001 idp" in final
    assert "--uid 10001 --gid 10001" in final and "--workers" in final


def test_the_final_stage_holds_the_virtualenv_built_from_wheels_and_no_sources_or_pip():
    build, final = (ROOT / "Dockerfile").read_text().split("\nFROM ")[1:]

    assert build.startswith("python:3.11-slim AS build") and "pip wheel" in build and "--no-index" in build
    assert "COPY --from=build /opt/idp/venv /opt/idp/venv" in final
    assert "COPY idp" not in final and "pip install" not in final and "pip uninstall" in final


def test_docker_run_goes_through_the_entrypoint_that_reads_the_secrets_as_compose_does():
    final = _final_stage()
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())

    assert 'ENTRYPOINT ["/bin/sh", "/opt/idp/deploy/entrypoint.sh"]' in final
    assert all("entrypoint" not in service for service in compose["services"].values())


def test_the_health_check_is_readiness_on_the_port_idp_serve_was_given():
    readyz_url = _load_healthcheck().readyz_url

    assert readyz_url([]) == "http://127.0.0.1:8000/readyz"  # the defaults of `idp serve`
    assert readyz_url(["--host", "0.0.0.0", "--port", "8080", "--workers", "2"]) == "http://127.0.0.1:8080/readyz"
    assert readyz_url(["--port=9001", "--host=127.0.0.2"]) == "http://127.0.0.2:9001/readyz"
    assert readyz_url(["--host", "::", "--port", "8000"]) == "http://[::1]:8000/readyz"


def test_docker_and_compose_share_the_one_health_check():
    final = _final_stage()
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    replicas = [s for name, s in compose["services"].items() if name.startswith("idp-")]

    assert 'CMD ["python", "/opt/idp/deploy/healthcheck.py"]' in final
    assert "8000" not in final.split("HEALTHCHECK", 1)[1].split("\n#", 1)[0]  # the port is not fixed
    assert replicas and all("healthcheck" not in replica for replica in replicas)


def test_the_compose_data_tmpfs_belongs_to_the_image_user():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())

    for name, service in compose["services"].items():
        if name.startswith("idp-"):
            assert "/var/lib/idp:uid=10001,gid=10001,mode=0700" in service["tmpfs"]
            assert service["read_only"] is True and service["cap_drop"] == ["ALL"]


def test_the_image_exposes_the_metrics_listener_where_compose_puts_it():
    final = _final_stage()
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())

    assert "EXPOSE 8000 9464" in final and "IDP_METRICS_ADDRESS=0.0.0.0:9464" in final
    assert compose["services"]["idp-1"]["environment"]["IDP_METRICS_ADDRESS"] == "0.0.0.0:9464"


def test_only_what_the_image_copies_is_sent_to_the_engine():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()

    assert ignored[1] == "*"  # everything, then the exceptions
    assert {line for line in ignored if line.startswith("!")} == {
        "!pyproject.toml",
        "!README.md",
        "!idp",
        "!deploy/entrypoint.sh",
        "!deploy/healthcheck.py",
    }


def test_idp_serve_with_two_workers_answers_metrics_on_its_own_listener_for_both(tmp_path, keys_dir):
    from tests.helpers import free_port
    from tests.ops.conftest import IDP, idp, served_env, stop, wait_ready

    port, metrics_port = free_port(), free_port()
    env = served_env(tmp_path, keys_dir, f"http://127.0.0.1:{port}", IDP_METRICS_ADDRESS=f"127.0.0.1:{metrics_port}")
    assert idp(env, "init").returncode == 0
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*IDP, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
            text=True,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as public:
            for _ in range(40):  # new connections, spread over both workers
                public.get("/healthz", headers={"Connection": "close"})
            hidden = public.get("/metrics")
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    finally:
        stop(process)

    healthz = [
        float(line.rsplit(" ", 1)[1])
        for line in scraped.splitlines()
        if line.startswith('idp_http_requests_total{endpoint="/healthz",method="GET",status="200"}')
    ]
    assert hidden.status_code == 404
    assert sum(healthz) >= 40  # every worker's requests, added up by the one listener
    assert "idp_outbox_pending 0.0" in scraped


def test_the_compose_replicas_expose_metrics_only_on_the_private_network():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()

    for name, service in compose["services"].items():
        if name.startswith("idp-"):
            assert service["environment"]["IDP_METRICS_ADDRESS"] == "0.0.0.0:9464"
            assert "ports" not in service  # reachable from the compose network only, never published
    assert "location = /metrics { return 404; }" in nginx
