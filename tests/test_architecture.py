"""The import rule from DESIGN.md, held by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRYPTO_LIBS = {"jwt", "argon2", "cryptography", "pyotp", "qrcode"}
STORAGE_LIBS = {"sqlmodel", "sqlalchemy", "alembic"}
WEB_LIBS = {"starlette", "uvicorn"}


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


def test_clients_and_idp_never_import_each_other():
    offenders = [f for f, names in _imports("idp").items() if any(_top(n) == "clients" for n in names)]
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
        and ({_top(n) for n in names} & WEB_LIBS or any(n.startswith("idp.http") for n in names))
    ]

    assert offenders == []


def test_the_store_and_crypto_do_not_reach_up_into_the_core_or_http():
    offenders = [
        f
        for f, names in _imports("idp").items()
        if f.startswith(("idp/store/", "idp/crypto/")) and any(n.startswith(("idp.core", "idp.http")) for n in names)
    ]

    assert offenders == []


def test_the_scanner_sees_both_import_forms(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("import sqlalchemy.orm\nfrom jwt import decode\nfrom . import x\n")

    names = _imports("pkg", tmp_path)["pkg/mod.py"]

    assert {_top(n) for n in names} == {"sqlalchemy", "jwt"}
