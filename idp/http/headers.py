"""The headers every response carries: no sniffing, no referrer, no framing, a CSP with no inline
script, and HSTS when the issuer is https. One list, so the precomputed documents and the
middleware that adds them to everything else cannot drift apart."""

from __future__ import annotations

CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"


def security_headers(hsts: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", CSP.encode()),
    ]
    if hsts:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers
