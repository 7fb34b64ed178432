"""How the workers of `idp serve --workers N` share its port: each listens on a socket of its own.

uvicorn's supervisor binds one socket and every worker accepts from it. A worker woken for a new
connection accepts every connection waiting, so a portal's pool of keep-alive connections, opened
in one burst, landed on one worker: 16 connections from wrk went all to one of two workers in 4
starts of 5, and the second core stood idle (bench/run.py's two-worker userinfo at 0.90x of one
worker, with the machine 45% idle). On Linux each worker now binds its own socket to the address
with SO_REUSEPORT, and the kernel spreads new connections over the workers' sockets by a hash of
their addresses. What that costs: connections still waiting in a worker's own queue when it stops
are refused instead of being taken by another worker (a restart drops those few; the balance
holds for the rest of a worker's life).

The supervisor stays uvicorn's (`Multiprocess`: restarts, signals, health checks). It sends each
worker the socket it bound; `PortShare` makes that socket arrive as a new one, bound with
SO_REUSEPORT, in the worker. The supervisor's own socket is bound (a port in use fails there,
before any worker starts) and never listens, so it takes no connections.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

import uvicorn


def _bound(family: int, address: Any, kind: type[socket.socket] = socket.socket) -> socket.socket:
    """A stream socket bound to `address` with SO_REUSEADDR and SO_REUSEPORT, not yet listening."""
    sock = kind(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


class PortShare(socket.socket):
    """A socket bound with SO_REUSEPORT that, sent to a spawned worker, arrives as a new socket of
    the worker's own on the same address (multiprocessing pickles it; an exact `socket.socket`
    would arrive as a duplicate of the same one)."""

    def __reduce__(self) -> tuple[Any, tuple[int, Any]]:
        return _bound, (int(self.family), self.getsockname())  # in the worker: its own, uvicorn listens on it


class SpreadConfig(uvicorn.Config):
    """uvicorn's configuration, except that the socket it binds for the workers is a `PortShare`
    where the kernel spreads connections (Linux) and the address is a host and port."""

    def bind_socket(self) -> socket.socket:
        if not spreads_connections() or self.uds or self.fd is not None:
            return super().bind_socket()
        shared = super().bind_socket()  # uvicorn's checks, address family and "running on" line
        family, address = shared.family, shared.getsockname()
        shared.close()
        try:
            return _bound(family, address, PortShare)
        except OSError as exc:  # taken in between: refused as uvicorn refuses a port in use
            logging.getLogger("uvicorn.error").error(exc)
            sys.exit(1)


def spreads_connections() -> bool:
    """Whether SO_REUSEPORT spreads connections over sockets here (Linux; elsewhere the last bound
    socket may take them all)."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def run_workers(app: str, workers: int, **options: Any) -> None:
    """`uvicorn.run(app, workers=workers, **options)` (workers > 1), each worker on its own socket."""
    from uvicorn.supervisors import Multiprocess

    config = SpreadConfig(app, workers=workers, **options)
    sock = config.bind_socket()
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
