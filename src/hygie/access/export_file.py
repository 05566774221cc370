"""The CSV file of an export (``exports``): its columns by category, one patient's cells
from the chart's blocks, and cells a spreadsheet cannot run as formulas."""

from __future__ import annotations

from typing import Any

from hygie.access.policy import Category

IDENTITY_COLUMNS = (
    "patient_id", "ipp", "birth_name", "used_name", "first_name", "used_first_name", "sex",
    "birth_date", "birth_place_code", "identity_status", "nir", "deceased",
)  # fmt: skip
CONTACT_COLUMNS = (
    "address_line", "postal_code", "city", "phone_mobile", "phone_home", "email",
    "attending_physician_id",
)  # fmt: skip
COVERAGE_COLUMNS = ("amo_regime", "amo_fund_code", "amo_fund", "amc_organism", "amc_member_number")


def header(categories: list[Category]) -> list[str]:
    header = list(IDENTITY_COLUMNS)
    if Category.CONTACT in categories:
        header += CONTACT_COLUMNS
    if Category.COVERAGE in categories:
        header += COVERAGE_COLUMNS
    if Category.APPOINTMENTS in categories:
        header.append("appointments")
    if Category.STAYS in categories:
        header.append("stays")
    return header


def line(
    patient_id: int,
    blocks: dict[str, Any],
    establishment_id: int,
    basis: str,
    items: list[str],
    categories: list[Category],
) -> list[Any]:
    """One patient's cells, from the chart's blocks (``items``: the appointments or stays
    that put them on the list)."""
    identity = blocks["identity"]
    ipp = next(
        (f["ipp"] for f in identity["files"] if f["establishment_id"] == establishment_id), ""
    )
    values: list[Any] = [patient_id, ipp, *(identity.get(c) for c in IDENTITY_COLUMNS[2:])]
    if Category.CONTACT in categories:
        values += [blocks["contact"].get(c) for c in CONTACT_COLUMNS]
    if Category.COVERAGE in categories:
        amo = (blocks["coverage"]["amo"] or [{}])[0]
        amc = (blocks["coverage"]["amc"] or [{}])[0]
        values += [amo.get("regime"), amo.get("fund_code"), amo.get("fund"),
                   amc.get("organism"), amc.get("member_number")]  # fmt: skip
    if Category.APPOINTMENTS in categories:
        values.append(" | ".join(items) if basis == "appointments" else "")
    if Category.STAYS in categories:
        values.append(" | ".join(items) if basis == "stays" else "")
    return values


def cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection): text
    starting with = + - @ or a control character is quoted with a leading apostrophe,
    unless it is a number or a phone number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _numeric(text):
        return "'" + text
    return text


def _numeric(text: str) -> bool:
    body = text[1:].replace(" ", "").replace(".", "")
    return text[:1] in "+-" and body.isdigit()
