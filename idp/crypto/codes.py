"""Short codes people type: numeric one-time codes (SMS, email) and recovery codes.

Both are drawn uniformly. A plain `int % 10**6` of three random bytes would make the first
777,216 codes slightly more likely than the rest; rejection sampling removes that bias. Store them
only as `SecretBox.mac` digests of the normalised form, never as plain SHA-256.
"""

from __future__ import annotations

from idp.crypto.randomness import RandomSource

__all__ = ["RECOVERY_ALPHABET", "normalize_recovery_code", "numeric_code", "recovery_code"]

# Crockford's base32: digits and letters without I, L, O and U, which are read as 1, 1, 0 and V.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_LENGTH = 10  # 50 bits
_CROCKFORD_READS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -\t\n\r")


def numeric_code(rng: RandomSource, digits: int = 6) -> str:
    if not 1 <= digits <= 18:
        raise ValueError("a numeric code has 1 to 18 digits")
    space = 10**digits
    nbytes = (space.bit_length() + 7) // 8
    drawn = 256**nbytes
    limit = drawn - drawn % space  # the largest multiple of `space` that fits: below it, % is uniform
    while True:
        value = int.from_bytes(rng.token_bytes(nbytes), "big")
        if value < limit:
            return str(value % space).zfill(digits)


def recovery_code(rng: RandomSource) -> str:
    """Ten characters shown as `XXXXX-XXXXX`; 32 divides 256, so `byte % 32` is uniform."""
    chars = "".join(RECOVERY_ALPHABET[b % 32] for b in rng.token_bytes(RECOVERY_LENGTH))
    return f"{chars[:5]}-{chars[5:]}"


def normalize_recovery_code(raw: str) -> str:
    """What a person typed, as the ten characters that were shown (the form to MAC and compare).

    Case, spaces and dashes don't matter, and O, I, L read as 0, 1, 1 as Crockford intends, so a
    code copied by hand from paper still works.
    """
    return raw.strip().upper().translate(_SEPARATORS).translate(_CROCKFORD_READS)
