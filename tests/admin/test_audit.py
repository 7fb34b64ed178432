"""The audit trail is a hash chain: `idp audit verify` proves it, and names the first bad event
after a row is edited, deleted or reordered; pruning keeps it verifiable from a checkpoint."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import text

from idp import cli
from idp.core import audit
from tests.admin.conftest import act_as


@pytest.fixture
def idp_env(monkeypatch, settings):
    for name in list(__import__("os").environ):
        if name.startswith("IDP_") and name != "IDP_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("IDP_ISSUER", settings.issuer)
    monkeypatch.setenv("IDP_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("IDP_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("IDP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IDP_PASSWORD_PROFILE", "tests")


def _events(provider, n=5):
    for i in range(n):
        audit.record(
            provider,
            action="citizen.login",
            outcome="success" if i % 2 else "failure",
            actor=f"citizen:{i}",
            ip="192.0.2.1",
            detail={"n": i},
        )


def _verify(capsys):
    status = cli.main(["audit", "verify"])
    out = capsys.readouterr()
    return status, json.loads(out.out), out.err


def test_an_untouched_chain_verifies(provider, idp_env, capsys):
    _events(provider)

    status, report, _ = _verify(capsys)

    assert status == 0 and report["ok"] and report["checked"] == 5


@pytest.mark.parametrize(
    "tamper, bad_seq",
    [
        ("UPDATE audit_event SET outcome = 'success' WHERE seq = 3", 3),
        ("DELETE FROM audit_event WHERE seq = 2", 2),
        ("UPDATE audit_event SET seq = CASE seq WHEN 3 THEN -4 WHEN 4 THEN -3 END WHERE seq IN (3, 4)", 3),
        ("DELETE FROM audit_event WHERE seq = 5", 5),
    ],
)
def test_an_edited_deleted_or_reordered_row_is_named(provider, idp_env, capsys, tamper, bad_seq):
    _events(provider)
    with provider.store.engine.begin() as conn:
        conn.execute(text(tamper))
        conn.execute(text("UPDATE audit_event SET seq = -seq WHERE seq < 0"))  # a swap, in two steps

    status, report, err = _verify(capsys)

    assert status == 1 and report["first_bad"]["seq"] == bad_seq
    assert f"broken at event {bad_seq}" in err


def test_concurrent_appends_never_fork_the_chain(provider):
    barrier = threading.Barrier(8)

    def append(i):
        barrier.wait()
        for j in range(5):
            audit.record(provider, action="load", outcome="success", actor=f"t{i}", detail={"j": j})

    threads = [threading.Thread(target=append, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    verdict = audit.verify(provider)
    assert verdict.ok and verdict.checked == 40


def test_pruning_keeps_the_rest_verifiable_from_the_checkpoint(provider, clock, idp_env, capsys):
    _events(provider, 3)
    clock.advance(10 * 86400)
    _events(provider, 2)

    removed = audit.prune(provider, retention_days=5)
    status, report, _ = _verify(capsys)

    assert removed == 3
    assert status == 0 and report["checkpoint_seq"] == 3 and report["checked"] == 3  # 2 kept + the prune event


def test_the_console_exports_filtered_csv_and_json_lines(client, provider, staff_of):
    _events(provider)
    act_as(client, staff_of("auditor"))

    lines = client.get(
        "/admin/audit/export", params={"format": "jsonl", "outcome": "failure", "action": "citizen.login"}
    )
    table = client.get("/admin/audit/export", params={"format": "csv", "action": "citizen.login"})

    rows = [json.loads(line) for line in lines.text.splitlines()]
    assert [r["actor"] for r in rows] == ["citizen:0", "citizen:2", "citizen:4"]
    assert table.headers["content-type"].startswith("text/csv") and len(table.text.strip().splitlines()) == 6
    assert table.text.splitlines()[0].startswith("seq,at,action,outcome")


def test_staff_actions_are_audited_with_actor_subject_and_ip(client, provider, staff_of):
    from tests.helpers import add_citizen

    citizen, _ = add_citizen(provider)
    member = act_as(client, staff_of("admin"))
    client.post(f"/admin/citizens/{citizen.id}/lock", data={"csrf_token": member.csrf, "reason": "fraud"})

    [event] = audit.search(provider, audit.AuditFilter(action="citizen.lock"))

    assert event.actor == "staff:admin" and event.subject == f"citizen:{citizen.id}" and event.ip
    detail = json.loads(event.detail)
    assert detail["reason"] == "fraud" and detail["request_id"]  # the id in the logs, to join them
