"""The container's health check (Dockerfile HEALTHCHECK, and so compose): `/readyz` on the served port.

Healthy means ready (database reachable, storage writable, keys loaded), the same answer a load balancer
gets. The port and host come from the command line of the running `idp serve`, so a container started
with `--port 8080` is probed on 8080 instead of a fixed 8000 that nothing listens on.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT = 2.0  # seconds; under the HEALTHCHECK --timeout, so a hung provider reports here


def serve_arguments() -> list[str]:
    """The arguments after `idp serve` of the serving process (its workers run `python -c …`)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = [part.decode(errors="replace") for part in (entry / "cmdline").read_bytes().split(b"\0")]
        except OSError:
            continue
        for index, part in enumerate(argv[:-1]):
            if Path(part).name == "idp" and argv[index + 1] == "serve":
                return argv[index + 2 :]
    return []


def readyz_url(arguments: list[str]) -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host", default="127.0.0.1")  # the defaults of `idp serve`
    parser.add_argument("--port", type=int, default=8000)
    known, _ = parser.parse_known_args(arguments)
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(known.host, known.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{known.port}/readyz"


def main() -> int:
    url = readyz_url(serve_arguments())
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            print(f"{url}: {response.status}")
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"{url}: {exc.code} {exc.read(500).decode(errors='replace')}")
    except OSError as exc:
        print(f"{url}: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
