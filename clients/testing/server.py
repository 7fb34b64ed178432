"""Running the mock provider for real on 127.0.0.1, for tests that drive a browser or a
separate process (needs `uvicorn`, in the `testing` extra)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .asgi import asgi_app

if TYPE_CHECKING:
    from .provider import MockProvider

_START_TIMEOUT = 10.0


@contextmanager
def serve_in_thread(provider: MockProvider, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Bind the port (0: a free one) first, so the issuer is known before the first request is served."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    previous_issuer = provider.issuer
    provider.issuer = f"http://{host}:{port}"
    config = uvicorn.Config(asgi_app(provider), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the mock provider did not start")
        time.sleep(0.01)
    try:
        yield provider.issuer
    finally:
        server.should_exit = True
        thread.join(_START_TIMEOUT)
        sock.close()
        provider.issuer = previous_issuer
