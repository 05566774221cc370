"""Shipped reference data: CIM-10 codes, drugs, billing acts, INSEE communes and countries.

The tables are CSV files bundled as package data in ``hygie/reference/data/`` (UTF-8,
comma-separated, one header row). Each table is read once, on first use, and then served
from memory as a read-only mapping of frozen dataclasses.

These are deliberately small, hand-curated subsets of the official nomenclatures (ATIH
CIM-10, WHO ATC, NGAP/CCAM, INSEE Code officiel géographique): enough for pick lists,
validation of common values and demonstrations, not a replacement for the full tables.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Generic, TypeVar

__all__ = [
    "ACT_SYSTEMS",
    "ROUTES",
    "Act",
    "Cim10Code",
    "Commune",
    "Country",
    "Drug",
    "ReferenceDataError",
    "acts",
    "cim10_codes",
    "cim10_search",
    "communes",
    "countries",
    "drug_search",
    "drugs",
    "is_known_birthplace",
]

#: Default administration routes a drug row may carry.
ROUTES: frozenset[str] = frozenset(
    {
        "oral",
        "iv",
        "im",
        "sc",
        "cutaneous",
        "ophthalmic",
        "rectal",
        "inhaled",
        "sublingual",
        "transdermal",
        "nasal",
        "vaginal",
    }
)

#: Billing nomenclatures an act may belong to.
ACT_SYSTEMS: frozenset[str] = frozenset({"NGAP", "CCAM"})

_DATA_PACKAGE = __name__


class ReferenceDataError(ValueError):
    """A bundled reference file is missing, malformed or inconsistent."""


@dataclass(frozen=True, slots=True)
class Cim10Code:
    """A CIM-10 (ICD-10, ATIH French edition) code, written with a dot (``E11.9``)."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class Drug:
    """A drug presentation by DCI (French international non-proprietary name)."""

    code: str
    name: str
    form: str
    strength: str
    route: str
    atc: str


@dataclass(frozen=True, slots=True)
class Act:
    """A billing act (NGAP letter key or CCAM code) with its base amount in euros."""

    code: str
    system: str
    label: str
    amount_eur: Decimal


@dataclass(frozen=True, slots=True)
class Commune:
    """A French commune (or municipal arrondissement) by its INSEE code."""

    insee_code: str
    name: str
    department: str


@dataclass(frozen=True, slots=True)
class Country:
    """A foreign country by its INSEE code (``99xxx``)."""

    insee_code: str
    name: str


# --------------------------------------------------------------------------- loading

_T = TypeVar("_T")


def _read_rows(filename: str, columns: Sequence[str]) -> list[dict[str, str]]:
    """Read one bundled CSV file, checking its header and that no cell is blank."""
    resource = resources.files(_DATA_PACKAGE).joinpath("data", filename)
    try:
        content = resource.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ReferenceDataError(f"reference file {filename} is missing") from exc
    reader = csv.DictReader(io.StringIO(content, newline=""))
    if reader.fieldnames != list(columns):
        raise ReferenceDataError(
            f"{filename}: expected columns {list(columns)}, got {reader.fieldnames}"
        )
    rows: list[dict[str, str]] = []
    for line, raw in enumerate(reader, start=2):
        if None in raw:
            raise ReferenceDataError(f"{filename}:{line}: too many cells")
        row: dict[str, str] = {}
        for column in columns:
            value = raw.get(column)
            if value is None or not value.strip():
                raise ReferenceDataError(f"{filename}:{line}: empty {column!r}")
            row[column] = value.strip()
        rows.append(row)
    return rows


def _index(filename: str, items: Iterable[_T], key: Callable[[_T], str]) -> Mapping[str, _T]:
    table: dict[str, _T] = {}
    for item in items:
        k = key(item)
        if k in table:
            raise ReferenceDataError(f"{filename}: duplicate code {k!r}")
        table[k] = item
    return MappingProxyType(table)


def _amount(filename: str, code: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ReferenceDataError(f"{filename}: bad amount {text!r} for {code}") from exc
    if not value.is_finite() or value < 0:
        raise ReferenceDataError(f"{filename}: bad amount {text!r} for {code}")
    return value


@cache
def cim10_codes() -> Mapping[str, Cim10Code]:
    """All bundled CIM-10 codes, keyed by code (``"E11.9"``)."""
    rows = _read_rows("cim10.csv", ("code", "label"))
    return _index("cim10.csv", (Cim10Code(r["code"], r["label"]) for r in rows), lambda c: c.code)


@cache
def drugs() -> Mapping[str, Drug]:
    """All bundled drug presentations, keyed by their stable code (``"D0001"``)."""
    filename = "drugs.csv"
    rows = _read_rows(filename, ("code", "name", "form", "strength", "route", "atc"))
    items: list[Drug] = []
    for r in rows:
        if r["route"] not in ROUTES:
            raise ReferenceDataError(f"{filename}: unknown route {r['route']!r} for {r['code']}")
        items.append(Drug(r["code"], r["name"], r["form"], r["strength"], r["route"], r["atc"]))
    return _index(filename, items, lambda d: d.code)


@cache
def acts() -> Mapping[str, Act]:
    """All bundled billing acts (NGAP and CCAM), keyed by code (``"G"``, ``"DEQP003"``)."""
    filename = "acts.csv"
    rows = _read_rows(filename, ("code", "system", "label", "amount_eur"))
    items: list[Act] = []
    for r in rows:
        if r["system"] not in ACT_SYSTEMS:
            raise ReferenceDataError(f"{filename}: unknown system {r['system']!r} for {r['code']}")
        amount = _amount(filename, r["code"], r["amount_eur"])
        items.append(Act(r["code"], r["system"], r["label"], amount))
    return _index(filename, items, lambda a: a.code)


@cache
def communes() -> Mapping[str, Commune]:
    """Bundled French communes, keyed by INSEE commune code (``"75056"``, ``"2A004"``)."""
    rows = _read_rows("communes.csv", ("insee_code", "name", "department"))
    return _index(
        "communes.csv",
        (Commune(r["insee_code"], r["name"], r["department"]) for r in rows),
        lambda c: c.insee_code,
    )


@cache
def countries() -> Mapping[str, Country]:
    """Bundled foreign countries, keyed by INSEE country code (``"99134"``)."""
    rows = _read_rows("countries.csv", ("insee_code", "name"))
    return _index(
        "countries.csv",
        (Country(r["insee_code"], r["name"]) for r in rows),
        lambda c: c.insee_code,
    )


def is_known_birthplace(code: str) -> bool:
    """Whether ``code`` is a bundled INSEE commune or foreign-country code.

    Only the shipped subsets are known: a real but unlisted commune answers ``False``.
    """
    normalized = code.strip().upper()
    return normalized in communes() or normalized in countries()


# --------------------------------------------------------------------------- search

_WORD = re.compile(r"[0-9a-z]+")
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


def _fold(text: str) -> str:
    """Lower-case, ligature-free, accent-free form of ``text`` for matching."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(_fold(text)))


def _compact(code: str) -> str:
    """A code folded for prefix matching: no dot, no spaces, lower case."""
    return "".join(_WORD.findall(_fold(code)))


def _words_match(tokens: Sequence[str], words: Sequence[str]) -> bool:
    return all(any(word.startswith(token) for word in words) for token in tokens)


@dataclass(frozen=True, slots=True)
class _Entry(Generic[_T]):
    item: _T
    codes: tuple[str, ...]
    words: tuple[str, ...]


def _search(entries: Sequence[_Entry[_T]], text: str, limit: int) -> list[_T]:
    """Rank entries: exact code, then code prefix, then label words (first word first)."""
    if limit <= 0:
        return []
    tokens = _words(text)
    if not tokens:
        return []
    compact = "".join(tokens)
    scored: list[tuple[int, int, _T]] = []
    for position, entry in enumerate(entries):
        if compact in entry.codes:
            tier = 0
        elif any(code.startswith(compact) for code in entry.codes):
            tier = 1
        elif _words_match(tokens, entry.words):
            tier = 2 if entry.words and entry.words[0].startswith(tokens[0]) else 3
        else:
            continue
        scored.append((tier, position, entry.item))
    scored.sort(key=lambda s: (s[0], s[1]))
    return [item for _, _, item in scored[:limit]]


@cache
def _cim10_entries() -> tuple[_Entry[Cim10Code], ...]:
    ordered = sorted(cim10_codes().values(), key=lambda c: c.code)
    return tuple(_Entry(c, (_compact(c.code),), _words(c.label)) for c in ordered)


@cache
def _drug_entries() -> tuple[_Entry[Drug], ...]:
    ordered = sorted(drugs().values(), key=lambda d: (_fold(d.name), d.code))
    return tuple(
        _Entry(d, (_compact(d.code), _compact(d.atc)), _words(f"{d.name} {d.form} {d.strength}"))
        for d in ordered
    )


def cim10_search(text: str, limit: int = 20) -> list[Cim10Code]:
    """CIM-10 codes matching ``text``, best first, at most ``limit``.

    Case- and accent-insensitive. ``text`` matches a code by prefix, with or without the
    dot (``"e11"``, ``"E11.9"``, ``"j459"``), or the label when every word of ``text`` starts
    a word of the label (``"diabete type 2"``, ``"insuf card"``).
    """
    return _search(_cim10_entries(), text, limit)


def drug_search(text: str, limit: int = 20) -> list[Drug]:
    """Drugs matching ``text``, best first, at most ``limit``.

    Case- and accent-insensitive. ``text`` matches the drug code or the ATC code by prefix
    (``"J01C"`` lists the penicillins), or the DCI, form and strength when every word of
    ``text`` starts one of their words (``"paracetamol 500"``, ``"amox"``).
    """
    return _search(_drug_entries(), text, limit)
