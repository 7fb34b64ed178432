"""Codes never reach the disk in clear: not in the outbox row, not in SQLite's WAL or freed pages,
not in PostgreSQL's dead row versions. The files themselves are read, byte for byte, after the codes
of a registration, a reset and a phone change were queued and sent through an HTTP gateway."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine, text

from idp.core import registration, reset, self_service
from idp.core.accounts import CitizenDeclaration
from tests.helpers import add_citizen

NEWCOMER = CitizenDeclaration(
    id_number="079303001234",
    full_name="Phạm Minh Châu",
    birth_date="2003-04-05",
    sex="female",
    phone="0987 654 321",
)
CODE = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")


def _queue_and_send_three_codes(provider, make_worker, sms_settings, gateway) -> list[str]:
    """A registration, a reset and a phone change each queue a code; the worker sends all three."""
    registration.register(provider, NEWCOMER, "mây trắng bay qua đồi xanh", client_ip="10.0.0.1", lang="vi")
    citizen, password = add_citizen(provider)
    reset.start(provider, "0912345678", client_ip="10.0.0.2", lang="vi")
    self_service.start_phone_change(provider, citizen, password, "0977 777 777", client_ip="10.0.0.3", lang="vi")

    make_worker(sms_settings).drain_once(provider.clock.now())

    texts = [r.body["text"] for r in gateway.received]
    assert len(texts) == 3, texts
    return texts


def _in_context(texts: list[str]) -> list[bytes]:
    """What a reader of the raw file would grep for: each code with the words around it."""
    needles = []
    for message in texts:
        code = CODE.search(message)
        assert code is not None, message
        start, end = code.span()
        needles += [message[max(start - 10, 0) : end].encode(), message[start : end + 10].encode()]
    return needles


def _sqlite_bytes(url: str) -> bytes:
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def _postgres_pages(provider) -> bytes:
    """Every page of the test schema's outbox table, dead row versions included (pageinspect)."""
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        with admin.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public"))
    finally:
        admin.dispose()
    with provider.store.engine.connect() as conn:
        pages = conn.execute(text("SELECT pg_relation_size('outbox') / current_setting('block_size')::int")).scalar()
        assert pages, "the outbox table has no pages"
        return b"".join(
            bytes(conn.execute(text("SELECT public.get_raw_page('outbox', :n)"), {"n": n}).scalar())
            for n in range(pages)
        )


def test_no_code_sent_to_a_phone_can_be_read_from_the_database_files(provider, sms_settings, gateway, make_worker):
    texts = _queue_and_send_three_codes(provider, make_worker, sms_settings, gateway)

    url = provider.settings.effective_database_url
    raw = _sqlite_bytes(url) if url.startswith("sqlite") else _postgres_pages(provider)

    assert len(raw) > 0
    assert [needle for needle in _in_context(texts) if needle in raw] == []
    console = provider.settings.data_dir / "outbox.jsonl"
    assert not console.exists() or not any(n in console.read_bytes() for n in _in_context(texts))
