"""The per-process client cache: owned by the store, timed by the provider's clock, forgotten on writes."""

from __future__ import annotations

from idp.store.clients import CLIENT_CACHE_SECONDS
from idp.store.repositories import Store
from tests.helpers import add_portal


def test_a_change_made_by_another_process_is_seen_once_the_cache_time_has_passed(provider, clock):
    portal = add_portal(provider)
    provider.store.clients.get(portal.client_id)
    elsewhere = Store.open(provider.settings.effective_database_url)
    try:
        elsewhere.client_directory.set_disabled(portal.client_id, True)
    finally:
        elsewhere.close()

    still_cached = provider.store.clients.get(portal.client_id)
    clock.advance(CLIENT_CACHE_SECONDS)
    reread = provider.store.clients.get(portal.client_id)

    assert not still_cached.disabled and reread.disabled


def test_a_change_made_through_this_store_is_seen_at_once(provider):
    portal = add_portal(provider)
    provider.store.clients.get(portal.client_id)

    provider.store.client_directory.set_disabled(portal.client_id, True)

    assert provider.store.clients.get(portal.client_id).disabled
