"""Time-based one-time passwords (RFC 6238) for authenticator apps, and the QR code that enrols one.

The parameters are the ones every authenticator app understands (SHA-1, 6 digits, 30 s), so any
app enrols from the QR code alone. Verification accepts the current and the previous step only, so
a code typed just as it rolled over still works, and it refuses any step at or before the last one
accepted, so an observed code can never be replayed, not even within its own 30 seconds. The caller
stores the returned step (with one conditional update, so two racing requests cannot both win).

pyotp computes the codes; the acceptance window and the replay rule are ours, because pyotp's
`verify` answers only yes or no, also accepts the next step, and knows nothing of the last one used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from urllib.parse import quote, urlencode

import pyotp

from idp.crypto.randomness import RandomSource

__all__ = [
    "DIGITS",
    "PERIOD",
    "hotp",
    "new_totp_secret",
    "provisioning_uri",
    "qr_svg",
    "totp_code",
    "verify_totp",
]

PERIOD = 30
DIGITS = 6
SECRET_BYTES = 20  # RFC 4226 §4 R6 recommends 160 bits, the length of a SHA-1 output.
_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>\s*")


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 §5.3 for a raw key (the RFC vectors use 8 digits and SHA-256/SHA-512): pyotp takes
    keys as base32, so the key is encoded for it."""
    if not 6 <= digits <= 8:
        raise ValueError("RFC 4226 §5.3 allows 6 to 8 digits")
    if not 0 <= counter < 2**64:
        raise ValueError("the counter is an unsigned 64-bit integer")
    secret = base64.b32encode(key).decode("ascii")
    return pyotp.HOTP(secret, digits=digits, digest=_DIGESTS[digest]).at(counter)


def new_totp_secret(rng: RandomSource) -> str:
    """160 bits as unpadded base32: 20 bytes encode to exactly 32 characters, so no `=` ever appears."""
    return base64.b32encode(rng.token_bytes(SECRET_BYTES)).decode("ascii")


def _totp(secret: str) -> pyotp.TOTP:
    """The authenticator app's parameters. pyotp checks the secret when it is given one: one that
    is not base32 (`binascii.Error` is a `ValueError`) or shorter than 112 bits is a `ValueError`."""
    compact = secret.replace(" ", "").upper()
    try:
        return pyotp.TOTP(compact, digits=DIGITS, digest=hashlib.sha1, interval=PERIOD)
    except ValueError:
        raise ValueError("the TOTP secret is not base32 of at least 112 bits") from None


def provisioning_uri(secret: str, account_name: str, issuer_name: str) -> str:
    """The Key URI Format that authenticator apps scan, with every parameter spelled out.

    Names are NFC-normalised and percent-encoded as UTF-8 with no character left "safe" (pyotp
    leaves `/` alone), so "Nguyễn Văn An" arrives intact and a `:` or `/` in a name cannot split
    the label. The algorithm, digits and period are written even though they are the defaults:
    some apps mis-read a URI that leaves them out.
    """
    issuer = unicodedata.normalize("NFC", issuer_name)
    account = unicodedata.normalize("NFC", account_name)
    label = f"{quote(issuer, safe='')}:{quote(account, safe='')}"
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": PERIOD},
        quote_via=quote,
        safe="",
    )
    return f"otpauth://totp/{label}?{query}"


def totp_code(secret: str, epoch_seconds: int) -> str:
    """The code an authenticator app shows at that moment (for tests and the development console)."""
    return _totp(secret).at(epoch_seconds)


def _well_formed(code: str) -> str | None:
    compact = code.replace(" ", "")
    if len(compact) == DIGITS and compact.isascii() and compact.isdigit():
        return compact
    return None


def verify_totp(secret: str, code: str, now: int, last_step: int | None) -> int | None:
    """The step `code` belongs to (the current or the previous one), or None.

    Both candidate steps are always computed and compared in constant time, so the answer's timing
    says nothing about which step matched. A step at or before `last_step` is refused even when the
    code is right: that is what makes each code single-use.
    """
    typed = _well_formed(code)
    if typed is None:
        return None
    totp = _totp(secret)
    current = now // PERIOD
    matched: int | None = None
    for step in (current - 1, current):
        if step < 0:
            continue
        if hmac.compare_digest(totp.generate_otp(step).encode("ascii"), typed.encode("ascii")):
            if last_step is None or step > last_step:
                matched = step
    return matched


def qr_svg(data: str) -> str:
    """An inline `<svg>` of `data` as a QR code, for a page with a strict Content-Security-Policy.

    The path factory draws the whole code as one `<path>`: no script, no `style` attribute, no
    external reference, and `data` itself never appears as text. The XML declaration is removed
    because it is not allowed inside an HTML document. The page that shows it carries a TOTP secret,
    so it must be sent with `Cache-Control: no-store`.
    """
    import qrcode  # only an enrolment draws one: ~4 MB a serving process need not hold from the start
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage)
    svg: str = image.to_string(encoding="unicode")
    return _XML_DECLARATION.sub("", svg)
