"""Who a portal is told the citizen is: a pairwise `sub` per portal by default (OIDC Core §8.1).

Two portals cannot join their records on `sub`; portals of one organisation may share a sector
or be set to `public`. The pairwise value is a keyed digest under the sealing key, so it is
stable, and cannot be computed by anyone holding only the database.
"""

from __future__ import annotations

from idp.core.provider import Provider
from idp.store.records import ClientRecord


def subject_for(provider: Provider, citizen_pk: str, client: ClientRecord) -> str:
    if client.subject_type == "public":
        return citizen_pk
    return provider.secrets.mac("pairwise:" + client.sector, citizen_pk)
