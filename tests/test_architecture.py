"""The import rule from DESIGN.md, held by reading every module's imports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRYPTO_LIBS = {"jwt", "argon2", "cryptography", "pyotp", "qrcode", "webauthn"}
STORAGE_LIBS = {"sqlmodel", "sqlalchemy", "alembic"}
WEB_LIBS = {"starlette", "uvicorn"}
# Modules that open connections to other machines; a top-level name, or a full one where the
# package's other modules are harmless (urllib.parse is not I/O).
NETWORK_LIBS = {"httpx", "httpcore", "requests", "smtplib", "socket", "http.client", "urllib.request"}
# What the core may take from delivery: the message it queues and the fetcher the provider holds.
DELIVERY_SEAMS = {"idp.delivery.message", "idp.delivery.client_jwks"}


def _imports(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(root))] = names
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _imported_names(package: str, module_prefix: str, root: Path = ROOT) -> dict[str, set[str]]:
    """For each file, the names it takes with `from <module_prefix>... import name`; a plain
    `import <module_prefix>...` shows up as `*`, since it reaches everything."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(module_prefix):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import) and any(a.name.startswith(module_prefix) for a in node.names):
                names.add("*")
        found[str(path.relative_to(root))] = names
    return found


def _is_network(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in NETWORK_LIBS)


def test_clients_and_idp_never_import_each_other():
    # The SDK lives in the folder clients/ and imports as postid_client.
    offenders = [
        f for f, names in _imports("idp").items() if any(_top(n) in ("clients", "postid_client") for n in names)
    ]
    offenders += [f for f, names in _imports("clients").items() if any(_top(n) == "idp" for n in names)]

    assert offenders == []


def test_only_the_crypto_package_imports_the_crypto_libraries():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if not f.startswith("idp/crypto/") and {_top(n) for n in names} & CRYPTO_LIBS
    ]

    assert offenders == []


def test_only_the_store_writes_queries():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if not f.startswith("idp/store/") and {_top(n) for n in names} & STORAGE_LIBS
    ]

    assert offenders == []


def test_the_core_never_sees_http():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if f.startswith("idp/core/")
        and (
            {_top(n) for n in names} & WEB_LIBS
            or any(n.startswith(("idp.http", "idp.admin", "idp.observability")) for n in names)
        )
    ]

    assert offenders == []


# Modules that bind the port `idp serve` listens on: sockets, and never a connection out.
LISTENERS = {"idp/worker_sockets.py"}


def test_only_delivery_talks_to_other_machines():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if not f.startswith("idp/delivery/") and f not in LISTENERS and any(_is_network(n) for n in names)
    ]

    assert offenders == []
    assert not [f for f in LISTENERS if re.search(r"\.(connect|create_connection|sendto)\(", (ROOT / f).read_text())]


def test_the_core_reaches_delivery_only_through_its_seams():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if f.startswith("idp/core/") and {n for n in names if n.startswith("idp.delivery")} - DELIVERY_SEAMS
    ]

    assert offenders == []


def test_delivery_never_reaches_up_into_the_core_http_or_admin():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if f.startswith("idp/delivery/") and any(n.startswith(("idp.core", "idp.http", "idp.admin")) for n in names)
    ]

    assert offenders == []


def test_http_and_admin_go_through_the_core_and_never_send_anything_themselves():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if f.startswith(("idp/http/", "idp/admin/")) and any(n.startswith("idp.delivery") for n in names)
    ]

    assert offenders == []


def test_http_and_admin_take_only_record_types_from_the_store():
    offenders = {
        f: names
        for package in ("idp/http", "idp/admin")
        for f, names in _imported_names(package, "idp.store").items()
        if any(not n.endswith("Record") for n in names)
    }

    assert offenders == {}


def test_the_store_and_crypto_do_not_reach_up_into_the_core_http_or_admin():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if f.startswith(("idp/store/", "idp/crypto/"))
        and any(n.startswith(("idp.core", "idp.http", "idp.admin")) for n in names)
    ]

    assert offenders == []


def test_the_scanner_sees_both_import_forms(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("import sqlalchemy.orm\nfrom jwt import decode\nfrom . import x\n")

    names = _imports("pkg", tmp_path)["pkg/mod.py"]

    assert {_top(n) for n in names} == {"sqlalchemy", "jwt"}


def test_the_name_scanner_sees_what_is_taken_from_a_package(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        "from idp.store.records import ClientRecord\nfrom idp.store.clients import Clients\nimport idp.store.engine\n"
    )

    names = _imported_names("pkg", "idp.store", tmp_path)["pkg/mod.py"]

    assert names == {"ClientRecord", "Clients", "*"}


def test_urllib_parse_is_not_network_but_urllib_request_is():
    assert not _is_network("urllib.parse") and _is_network("urllib.request") and _is_network("httpx")
