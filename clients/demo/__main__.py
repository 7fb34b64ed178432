"""`python -m postid_client.demo` serves the demo portal on 127.0.0.1:8001 (needs uvicorn).

`python -m postid_client.demo --mock` also starts a mock provider on a free port, so the portal can be
tried with no real provider (citizens: Nguyễn Thị Lan at LoA2, Trần Văn Minh at LoA1).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import secrets

import uvicorn

from .app import create_app
from .settings import DemoSettings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m postid_client.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--mock", action="store_true", help="start a mock PostID provider as well")
    arguments = parser.parse_args()
    settings = DemoSettings.from_env()
    with contextlib.ExitStack() as stack:
        if arguments.mock:
            from postid_client.testing import MockProvider

            provider = MockProvider()
            secret = secrets.token_urlsafe(24)
            provider.register_client(
                settings.client_id,
                redirect_uris=[settings.redirect_uri],
                client_secret=secret,
                post_logout_redirect_uris=[settings.redirect_uri.rsplit("/", 1)[0] + "/"],
            )
            issuer = stack.enter_context(provider.serve())
            settings = dataclasses.replace(settings, issuer=issuer, client_secret=secret)
            print(f"mock PostID provider at {issuer}")
        print(f"demo portal at http://{settings.host}:{settings.port}/")
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
