"""Validation of the national identifiers Hygie stores: NIR, RPPS and FINESS.

Each ``parse_*`` function normalises its input (spaces removed, upper case) and returns
the canonical form, or raises :class:`hygie.errors.ValidationError` saying what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hygie.errors import ValidationError

_NIR_RE = re.compile(r"^[12][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{6}[0-9]{2}$")
_CORSICA = {"2A": "19", "2B": "18"}


@dataclass(frozen=True)
class Nir:
    """A validated NIR (13 characters + 2-digit key) and what it says of its holder."""

    value: str

    @property
    def sex(self) -> str:
        return "male" if self.value[0] == "1" else "female"

    @property
    def birth_year_2(self) -> int:
        return int(self.value[1:3])

    @property
    def birth_month(self) -> int | None:
        """The birth month, or None when the NIR carries a conventional unknown month."""
        month = int(self.value[3:5])
        return month if 1 <= month <= 12 else None

    @property
    def department(self) -> str:
        dep = self.value[5:7]
        return self.value[5:8] if dep in ("97", "98") else dep

    @property
    def formatted(self) -> str:
        v = self.value
        return f"{v[0]} {v[1:3]} {v[3:5]} {v[5:7]} {v[7:10]} {v[10:13]} {v[13:15]}"


def nir_key(first13: str) -> int:
    """The key of a 13-character NIR body: 97 - (number mod 97), Corsica counted as 19/18."""
    digits = first13[:5] + _CORSICA.get(first13[5:7], first13[5:7]) + first13[7:13]
    return 97 - int(digits) % 97


def normalise_nir(raw: str) -> str:
    return re.sub(r"[\s.\-]", "", raw).upper()


def parse_nir(raw: str, *, field: str = "nir") -> Nir:
    """Check a NIR's structure, month, department, order number and key."""
    value = normalise_nir(raw)
    if len(value) != 15:
        raise ValidationError(
            f"a NIR has 15 characters (13 + a 2-digit key), got {len(value)}", field=field
        )
    if value[0] not in "12":
        raise ValidationError("a NIR starts with 1 (male) or 2 (female)", field=field)
    if not _NIR_RE.match(value):
        raise ValidationError(
            "a NIR is made of digits, with 2A or 2B only as a Corsican department", field=field
        )
    month = int(value[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or month >= 50):
        raise ValidationError(
            f"birth month {value[3:5]} is not a month (01-12) nor a conventional code",
            field=field,
        )
    dep = value[5:7]
    if dep == "00":
        raise ValidationError("birth department 00 does not exist", field=field)
    if value[10:13] == "000":
        raise ValidationError("order number 000 does not exist", field=field)
    key = int(value[13:15])
    expected = nir_key(value[:13])
    if key != expected:
        raise ValidationError(
            f"NIR key {value[13:15]} is wrong (expected {expected:02d})", field=field
        )
    return Nir(value)


def luhn_valid(digits: str) -> bool:
    """The Luhn check (ISO/IEC 7812) on a string of digits, key included."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_key(body: str) -> str:
    """The Luhn check digit to append to ``body``."""
    for k in "0123456789":
        if luhn_valid(body + k):
            return k
    raise AssertionError("unreachable: one digit always completes a Luhn sum")


def parse_rpps(raw: str, *, field: str = "rpps") -> str:
    """An RPPS number: 11 digits, the last one a Luhn key."""
    value = re.sub(r"\s", "", raw)
    if not re.fullmatch(r"[0-9]{11}", value):
        raise ValidationError("an RPPS number has 11 digits", field=field)
    if not luhn_valid(value):
        raise ValidationError("the RPPS number's check digit (Luhn key) is wrong", field=field)
    return value


def parse_finess(raw: str, *, field: str = "finess") -> str:
    """A FINESS number: a 2-character department (2A/2B for Corsica), 6 digits and a Luhn key.

    Corsican departments are counted as 20 in the key, as they were before 1976."""
    value = re.sub(r"\s", "", raw).upper()
    if not re.fullmatch(r"(?:[0-9]{2}|2A|2B)[0-9]{7}", value):
        raise ValidationError(
            "a FINESS number has 9 characters: department then 7 digits", field=field
        )
    if not luhn_valid(value.replace("2A", "20", 1).replace("2B", "20", 1)):
        raise ValidationError("the FINESS number's check digit (Luhn key) is wrong", field=field)
    return value
