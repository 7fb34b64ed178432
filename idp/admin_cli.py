"""The staff commands of `idp`: `staff add`, `keys list|rotate`, `audit verify|export|prune`.

`cli.py` calls `add_commands` while building its parser and `run` for these commands. Output is
JSON (export writes CSV or JSON Lines); refusals go to stderr with exit status 2, and
`idp audit verify` exits 1 naming the first bad event when the chain is broken.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from idp.crypto.keys import SIGNING_ALGS
from idp.settings import Settings

COMMANDS = ("staff", "keys", "audit")


def add_commands(commands: Any) -> None:
    from idp.core.staff import ROLES

    staff = commands.add_parser("staff", help="staff accounts").add_subparsers(dest="action", required=True)
    add = staff.add_parser("add", help="create a staff member; prints the TOTP enrolment URI and its QR code")
    add.add_argument("--username", required=True)
    add.add_argument("--role", action="append", required=True, choices=ROLES, dest="roles")
    add.add_argument("--full-name", default="")
    add.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from standard input"
    )
    add.add_argument("--no-qr", action="store_true", help="print only the JSON (for scripts)")
    staff.add_parser("list", help="staff members and roles (JSON)")

    keys = commands.add_parser("keys", help="signing keys").add_subparsers(dest="action", required=True)
    keys.add_parser("list", help="every key with its status: next, active, retired, expired (JSON)")
    rotate = keys.add_parser(
        "rotate",
        help="activate the next key (once published long enough), retire the active one, publish a new next key",
    )
    rotate.add_argument("--alg", choices=SIGNING_ALGS, action="append", dest="algs")
    rotate.add_argument("--force", action="store_true", help="activate the next key without waiting for caches")

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(dest="action", required=True)
    audit.add_parser("verify", help="recompute the hash chain; exit 1 naming the first bad event")
    export = audit.add_parser("export", help="write events as CSV or JSON Lines to standard output")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument("--action", dest="event_action", help="only this action (e.g. staff.login)")
    for name in ("actor", "subject", "outcome"):
        export.add_argument(f"--{name}")
    export.add_argument("--since", type=int, help="epoch seconds")
    export.add_argument("--until", type=int, help="epoch seconds")
    prune = audit.add_parser("prune", help="remove events older than IDP_AUDIT_RETENTION_DAYS, keeping a checkpoint")
    prune.add_argument("--days", type=int, help="override the retention setting")


def handles(command: str) -> bool:
    return command in COMMANDS


def _print(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def run(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from idp.bootstrap import open_provider
    from idp.core import audit, keys, staff
    from idp.crypto.keys import RotationRefused

    provider = open_provider(settings)
    try:
        if args.command == "staff" and args.action == "add":
            from idp.crypto.qr_text import qr_text

            password = sys.stdin.readline().rstrip("\r\n")
            created = staff.add_staff(
                provider,
                username=args.username,
                roles=args.roles,
                password=password,
                full_name=args.full_name,
                actor="cli",
            )
            _print(
                {
                    "id": created.staff.id,
                    "username": created.staff.username,
                    "roles": sorted(created.staff.roles),
                    "totp_uri": created.totp_uri,
                }
            )
            if not args.no_qr:
                print("\nScan this with the authenticator app (the URI above holds the same secret):", file=sys.stderr)
                print(qr_text(created.totp_uri), file=sys.stderr)
            return 0
        if args.command == "staff":
            _print(
                [
                    {"username": s.username, "roles": sorted(s.roles), "status": s.status}
                    for s in provider.store.staff.list()
                ]
            )
            return 0
        if args.command == "keys" and args.action == "list":
            _print([asdict(k) for k in keys.listing(provider)])
            return 0
        if args.command == "keys":
            try:
                results = keys.rotate(provider, actor="cli", algs=tuple(args.algs or SIGNING_ALGS), force=args.force)
            except RotationRefused as exc:
                print(
                    f"idp: refused: {exc} (the next key must be published for IDP_JWKS_MAX_AGE "
                    f"seconds first; --force skips the wait)",
                    file=sys.stderr,
                )
                return 2
            _print(results)
            return 0
        if args.action == "verify":
            verdict = audit.verify(provider)
            _print(
                {
                    "ok": verdict.ok,
                    "checked": verdict.checked,
                    "checkpoint_seq": verdict.checkpoint_seq,
                    "head_seq": verdict.head_seq,
                    "first_bad": asdict(verdict.first_bad) if verdict.first_bad else None,
                }
            )
            if not verdict.ok and verdict.first_bad:
                print(
                    f"idp: the audit chain is broken at event {verdict.first_bad.seq}: {verdict.first_bad.reason}",
                    file=sys.stderr,
                )
            return 0 if verdict.ok else 1
        if args.action == "export":
            where = audit.AuditFilter(
                action=args.event_action,
                actor=args.actor,
                subject=args.subject,
                outcome=args.outcome,
                since=args.since,
                until=args.until,
            )
            lines = audit.export_csv(provider, where) if args.format == "csv" else audit.export_jsonl(provider, where)
            for line in lines:
                sys.stdout.write(line)
            return 0
        if args.action == "prune":
            removed = audit.prune(provider, retention_days=args.days, actor="cli")
            _print({"removed": removed, "checkpoint": provider.store.audit.checkpoint()[0]})
            return 0
    finally:
        provider.store.close()
    return 1
