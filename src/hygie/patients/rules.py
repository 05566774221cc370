"""Validation of identity traits (INS rules), shared by creation and updates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from hygie.errors import ValidationError
from hygie.kit.identifiers import Nir, parse_nir
from hygie.kit.text import clean_name
from hygie.models import IdentityStatus, Sex

_BIRTHPLACE_RE = re.compile(r"^(?:[0-9]{5}|2[AB][0-9]{3})$")
EARLIEST_BIRTH = date(1890, 1, 1)


def parse_sex(value: str) -> Sex:
    try:
        return Sex(value)
    except ValueError as exc:
        raise ValidationError("must be female, male or unknown", field="sex") from exc


def parse_status(value: str) -> IdentityStatus:
    try:
        return IdentityStatus(value)
    except ValueError as exc:
        allowed = ", ".join(s.value for s in IdentityStatus)
        raise ValidationError(
            f"unknown identity status (one of {allowed})", field="identity_status"
        ) from exc


def clean_first_names(names: Sequence[str]) -> list[str]:
    """The ordered birth first names; at least one."""
    if isinstance(names, str):
        names = names.split()
    cleaned = [clean_name(n, field="birth_first_names") for n in names if n.strip()]
    if not cleaned:
        raise ValidationError(
            "at least one birth first name is required", field="birth_first_names"
        )
    if len(" ".join(cleaned)) > 200:
        raise ValidationError("are longer than 200 characters together", field="birth_first_names")
    return cleaned


def check_birth_date(birth_date: date, today: date) -> None:
    if birth_date > today:
        raise ValidationError("is in the future", field="birth_date")
    if birth_date < EARLIEST_BIRTH:
        raise ValidationError(f"is before {EARLIEST_BIRTH.isoformat()}", field="birth_date")


def check_birth_place(code: str) -> str:
    value = code.strip().upper()
    if not _BIRTHPLACE_RE.match(value):
        raise ValidationError(
            "is not an INSEE code (5 characters: a commune, or 99xxx for a country)",
            field="birth_place_code",
        )
    return value


def check_nir_matches_traits(nir: Nir, *, sex: Sex, birth_date: date) -> None:
    """The NIR's sex, year and (known) month must agree with the birth traits."""
    if sex == Sex.UNKNOWN:
        raise ValidationError(f"says {nir.sex}: give the sex it records", field="sex")
    if nir.sex != sex.value:
        raise ValidationError(f"says {nir.sex}, but the sex given is {sex.value}", field="nir")
    if nir.birth_year_2 != birth_date.year % 100:
        raise ValidationError(
            f"says born in ..{nir.birth_year_2:02d}, but the birth date is {birth_date.year}",
            field="nir",
        )
    if nir.birth_month is not None and nir.birth_month != birth_date.month:
        raise ValidationError(
            f"says born in month {nir.birth_month:02d}, but the birth date says "
            f"{birth_date.month:02d}",
            field="nir",
        )


def check_status_allows(
    status: IdentityStatus, *, has_nir: bool, has_birth_place: bool = True
) -> None:
    """Retrieved and qualified identities come from the national INS service: they carry the
    INS (NIR) and all five birth traits, birth place included."""
    if status in (IdentityStatus.RETRIEVED, IdentityStatus.QUALIFIED):
        if not has_nir:
            raise ValidationError(
                f"a {status.value} identity needs its INS (NIR)", field="identity_status"
            )
        if not has_birth_place:
            raise ValidationError(
                f"a {status.value} identity needs its birth place (INSEE code)",
                field="birth_place_code",
            )


def check_nir_matches_birth_place(nir: Nir, place: str) -> None:
    """Born abroad (department 99 in the NIR) and a country code (99xxx) go together."""
    if (nir.department == "99") != place.startswith("99"):
        raise ValidationError(
            "says born "
            + ("abroad" if nir.department == "99" else "in France")
            + f", but the birth place {place} says otherwise",
            field="nir",
        )


def parse_nir_for(raw: str, *, sex: Sex, birth_date: date) -> Nir:
    nir = parse_nir(raw)
    check_nir_matches_traits(nir, sex=sex, birth_date=birth_date)
    return nir
