"""The delivery package sits below the core: it may use the store, never the core or HTTP."""

from __future__ import annotations

from tests.test_architecture import _imports


def test_the_delivery_package_never_imports_the_core_or_http():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if f.startswith("idp/delivery/") and any(n.startswith(("idp.core", "idp.http")) for n in names)
    ]

    assert offenders == []
