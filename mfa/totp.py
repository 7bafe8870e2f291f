"""Authenticator-app codes (RFC 6238, with pyotp): 30-second steps, 6 digits, SHA-1 (what every app reads from
an otpauth:// URI), a step of drift either way (MFA TOTP_TOLERANCE_STEPS), and no code accepted twice: the step
of the last accepted code is stored, and only a later step passes (a conditional update, so two requests with one
code cannot both win)."""
import time

from django.utils.crypto import constant_time_compare
import pyotp
import segno

DIGITS = 6
STEP_SECONDS = 30
# Longest code input looked at: a code with spaces ("123 456") or a pasted line; anything longer is refused
# before any work.
CODE_MAX_LENGTH = 16


def new_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, the RFC 4226 recommendation for SHA-1


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account,
                                                                                     issuer_name=issuer)


def qr_code_svg(uri: str, *, title: str) -> str:
    """The URI as an inline SVG QR code: no script, no image request; dark on light whatever the page's
    colours, with the quiet zone scanners need."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=4, dark="#000", light="#fff", title=title,
                                                 svgclass="qr-code", omitsize=False)


def normalise(code: str) -> str | None:
    """The digits of a typed code ("123 456" and "123-456" are "123456"), or None if it cannot be one."""
    if not isinstance(code, str) or len(code) > CODE_MAX_LENGTH:
        return None
    digits = code.replace(" ", "").replace("-", "")
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


def current_step(now: float | None = None) -> int:
    return int(time.time() if now is None else now) // STEP_SECONDS


def matching_step(secret: str, code: str, *, after: int | None, tolerance: int) -> int | None:
    """The step within `tolerance` steps of now whose code is `code`, later than step `after` (the last one
    used); None if there is none. Every candidate is compared, in constant time, so the answer's timing says
    nothing about which step matched."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = current_step()
    found = None
    for step in range(now - tolerance, now + tolerance + 1):
        if constant_time_compare(totp.at(step * STEP_SECONDS), code) and (after is None or step > after):
            found = step
    return found
