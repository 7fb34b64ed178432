"""HTTP to addresses a portal registered (its `jwks_uri`, its back-channel logout URI) never reaches
the provider's own network (SSRF): loopback, private, link-local (cloud metadata at 169.254.169.254),
unspecified, multicast, reserved and every other non-global address are refused.

The check runs on the address each connection is actually made to: the host is resolved once, the
resolved address is checked, and the socket connects to that very address (TLS still verifies the
certificate for the host name). A name that resolves to a public address for the check and to
127.0.0.1 a moment later (DNS rebinding) therefore gains nothing. Redirects are never followed.

`IDP_OUTBOUND_ALLOW_PRIVATE=true` turns the guard off, for development, the demo and the tests,
whose portals listen on 127.0.0.1.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

from idp.settings import is_internal


class BlockedAddress(httpcore.ConnectError):
    """The target resolves only to addresses outbound requests may not reach."""


def first_external(host: str, port: int) -> str:
    """The first address `host` resolves to that is not internal; `BlockedAddress` when none is."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
    for _, _, _, _, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not is_internal(address):
            return str(address)
    raise BlockedAddress(f"{host} resolves only to internal addresses")


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, connecting only to checked external addresses."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return self._inner.connect_tcp(first_external(host, port), port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("unix sockets are not outbound targets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@functools.cache
def _verifying_context() -> ssl.SSLContext:
    """One certificate-verifying TLS context for every outbound client of the process: loading the CA
    bundle costs ~40 ms of CPU, which a provider paid twice per client at start-up before."""
    return httpx.create_ssl_context(verify=True)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections go through `_GuardedBackend`. Environment proxies are
    not used (a client given a transport ignores them), so the check always sees the real target."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context)
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=_GuardedBackend())


class _BuiltOnFirstRequest(httpx.BaseTransport):
    """Builds its transport (and the shared TLS context) when the first request goes out: most
    processes never call a portal, and none should pay for it before they are ready."""

    def __init__(self, build: Callable[[], httpx.BaseTransport]) -> None:
        self._build = build
        self._inner: httpx.BaseTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._inner is None:
                self._inner = self._build()
            inner = self._inner
        return inner.handle_request(request)

    def close(self) -> None:
        with self._lock:
            if self._inner is not None:
                self._inner.close()


def outbound_client(*, allow_private: bool, timeout: float, **kwargs: Any) -> httpx.Client:
    """An httpx client for portal-registered URLs: certificates verified, no redirects, and the
    internal-address guard unless `allow_private`."""

    def build() -> httpx.BaseTransport:
        if allow_private:
            return httpx.HTTPTransport(verify=_verifying_context())
        return GuardedTransport(_verifying_context())

    return httpx.Client(
        transport=_BuiltOnFirstRequest(build), timeout=httpx.Timeout(timeout), follow_redirects=False, **kwargs
    )


def was_blocked(exc: BaseException) -> bool:
    """True when an httpx error was raised because the target was internal."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddress):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
