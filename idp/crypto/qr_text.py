"""A QR code drawn with text (Unicode half blocks), for enrolling an authenticator from a terminal."""

from __future__ import annotations

__all__ = ["qr_text"]


def qr_text(data: str) -> str:
    """Two QR rows per line (upper/lower half blocks), light on dark-agnostic: dark modules are
    drawn, with the quiet zone around them, so phones read it in most terminal themes."""
    import qrcode  # a terminal enrolment only; serving never draws this

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    glyphs = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}
    lines = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=False):
        lines.append("".join(glyphs[(t, b)] for t, b in zip(top, bottom, strict=False)))
    return "\n".join(lines)
