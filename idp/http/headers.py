"""The headers every response carries: no sniffing, no referrer, no framing, a CSP with no inline
script, and HSTS when the issuer is https. One list, so the precomputed documents and the
middleware that adds them to everything else cannot drift apart."""

from __future__ import annotations

CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
# The pages that hold a passkey ceremony (login, second factor, account, password reset, the
# console's passkey pages) run one script, ours: /static/passkeys.js. Only `script-src 'self'` is
# added there: still no inline script, no eval, no fetch (`connect-src` stays 'none'), and every
# other page (the rest of the console too) allows no script.
SCRIPT_PAGES = ("/interaction/", "/account", "/reset/", "/admin/passkeys")
CSP_WITH_SCRIPT = CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self';")


def security_headers(hsts: bool, script: bool = False) -> list[tuple[bytes, bytes]]:
    """`script`: for the pages under `SCRIPT_PAGES`."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", (CSP_WITH_SCRIPT if script else CSP).encode()),
    ]
    if hsts:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers
