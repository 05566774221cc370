"""Text normalisation for names, search keys and contact details."""

from __future__ import annotations

import re
import unicodedata

from hygie.errors import ValidationError

_NAME_RE = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE_RE = re.compile(r"^(?:0[1-9][0-9]{8}|\+[1-9][0-9]{7,14})$")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSED = str.maketrans(
    {
        "Œ": "OE",
        "œ": "oe",
        "Æ": "AE",
        "æ": "ae",
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "Ð": "D",
        "ð": "d",
        "Þ": "TH",
        "þ": "th",
        "ß": "ss",
        "ı": "i",
    }
)


def search_key(text: str) -> str:
    """Upper-case ASCII letters, every run of other characters folded to one space:
    ``"Le Bœuf-d'Arc"`` → ``"LE BOEUF D ARC"``."""
    ascii_text = strip_accents(text.translate(_UNDECOMPOSED)).upper()
    return " ".join(re.findall(r"[A-Z]+", ascii_text))


def clean_name(raw: str, *, field: str, max_length: int = 100) -> str:
    """A person's name: letters, with single spaces, hyphens or apostrophes between parts."""
    value = " ".join(_text(raw, field).split()).replace("’", "'")
    if not value:
        raise ValidationError("is required", field=field)
    if len(value) > max_length:
        raise ValidationError(f"is longer than {max_length} characters", field=field)
    if not _NAME_RE.match(value):
        raise ValidationError(
            "may hold only letters, separated by single spaces, hyphens or apostrophes",
            field=field,
        )
    return value


def _text(raw: object, field: str) -> str:
    """``raw`` as a string without control characters or lone surrogates (which no database
    stores the same way), or a ValidationError."""
    if not isinstance(raw, str):
        raise ValidationError("must be text", field=field)
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\r\t" for c in raw):
        raise ValidationError("contains control characters", field=field)
    return raw


def clean_text(raw: str, *, field: str, max_length: int, required: bool = True) -> str:
    value = _text(raw, field).strip()
    if required and not value:
        raise ValidationError("is required", field=field)
    if len(value) > max_length:
        raise ValidationError(f"is longer than {max_length} characters", field=field)
    return value


def clean_phone(raw: str, *, field: str) -> str:
    value = re.sub(r"[\s.\-()]", "", _text(raw, field))
    if not _PHONE_RE.match(value):
        raise ValidationError(
            "is not a phone number (10 digits starting with 0, or +country code)", field=field
        )
    return value


def clean_email(raw: str, *, field: str) -> str:
    value = _text(raw, field).strip().lower()
    if len(value) > 200 or not _EMAIL_RE.match(value):
        raise ValidationError("is not an e-mail address", field=field)
    return value


def clean_postal_code(raw: str, *, field: str) -> str:
    value = _text(raw, field).strip()
    if not re.fullmatch(r"[0-9]{5}", value):
        raise ValidationError("is not a postal code (5 digits)", field=field)
    return value
