"""The second factor: TOTP (RFC 6238) and single-use recovery codes.

A code is accepted for the current 30-second step and one step either side (clock drift).
The step of the last accepted code is stored, and a code is accepted only for a *later*
step, so that a code seen over a shoulder or phished is refused a second time (RFC 6238
section 5.2).

Recovery codes carry about 79 random bits each (16 characters out of 31); at that entropy
a SHA-256 digest is out of reach of an offline guess, so they are stored as SHA-256 (a slow
hash is for low-entropy secrets like passwords) and looked up directly.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

ISSUER = "Hygie"
DIGITS = 6
STEP_SECONDS = 30
WINDOW = 1  # steps accepted either side of the current one
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
_RECOVERY_GROUPS = 4
_RECOVERY_GROUP_LENGTH = 4


def new_secret() -> str:
    """A random base32 TOTP secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str) -> str:
    """``otpauth://totp/Hygie:USERNAME?secret=...&issuer=Hygie``, for an authenticator app."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def step_of(moment: datetime) -> int:
    """The RFC 6238 time step of ``moment``."""
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, moment: datetime) -> str:
    """The code an authenticator shows at ``moment`` (for tests and enrolment checks)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step_of(moment))


def accepted_step(secret: str, code: str, *, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to if it is valid at ``now`` and newer than
    ``last_step``; None otherwise. Every candidate step is compared, in constant time."""
    candidate = code.strip().replace(" ", "")
    if len(candidate) != DIGITS or not candidate.isascii() or not candidate.isdigit():
        return None
    otp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = step_of(now)
    found: int | None = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        matches = hmac.compare_digest(otp.generate_otp(step), candidate)
        if matches and (last_step is None or step > last_step) and found is None:
            found = step
    return found


def new_recovery_codes() -> list[str]:
    """Ten fresh codes such as ``k3fa-9xqm-t7pe-2hcw`` (about 79 bits each)."""
    return [
        "-".join(
            "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP_LENGTH))
            for _ in range(_RECOVERY_GROUPS)
        )
        for _ in range(RECOVERY_CODES)
    ]


def hash_recovery_code(code: str) -> str:
    """The stored form of a recovery code: SHA-256 of its letters, case and dashes ignored."""
    letters = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(f"hygie-recovery:{letters}".encode()).hexdigest()
