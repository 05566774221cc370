"""Search and path parameters as FHIR writes them, checked strictly: an unknown or
unsupported parameter is refused (400) rather than ignored, so that a search never
returns more than its client asked for."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from starlette.requests import Request

from hygie.api.deps import MAX_ID
from hygie.fhir.outcome import FhirError

# Parameters every search accepts: paging, the format (always JSON here), and how to count
# (``_total``, and ``_totalMethod`` that some client libraries send): the total is always
# counted exactly.
COMMON = frozenset({"_count", "_offset", "_format", "_total", "_totalMethod"})
_ID = re.compile(r"[0-9]{1,10}")


def check_known(request: Request, supported: Collection[str]) -> None:
    for name in request.query_params:
        if name not in supported and name not in COMMON:
            raise FhirError(400, f"unsupported search parameter: {name}", expression=name)
    fmt = request.query_params.get("_format")
    if fmt is not None and fmt not in ("json", "application/json", "application/fhir+json"):
        raise FhirError(406, "only JSON is served", expression="_format")


def parse_id(raw: str, resource_type: str) -> int:
    """A resource id of ours: digits; anything else names no resource (404)."""
    if not _ID.fullmatch(raw) or not 1 <= int(raw) <= MAX_ID:
        raise FhirError(404, f"{resource_type}/{raw[:40]} does not exist")
    return int(raw)


def reference_id(reference: Any, resource_type: str, expression: str) -> int:
    """The id in a Reference such as ``{"reference": "Patient/12"}`` (relative, or absolute
    on this server)."""
    value = reference.get("reference") if isinstance(reference, dict) else reference
    if not isinstance(value, str):
        raise FhirError(422, f"a reference to a {resource_type} is required", expression=expression)
    tail = value.rstrip("/").split("/")
    if len(tail) < 2 or tail[-2] != resource_type or not _ID.fullmatch(tail[-1]):
        raise FhirError(
            422,
            f"expected a reference {resource_type}/ID, got {value[:80]!r}",
            expression=expression,
        )
    ident = int(tail[-1])
    if not 1 <= ident <= MAX_ID:
        raise FhirError(422, f"{value[:80]} does not exist", expression=expression)
    return ident


def reference_param(raw: str, resource_type: str, name: str) -> int:
    """A reference search parameter: ``12``, ``Patient/12`` or an absolute URL."""
    value = raw if "/" in raw else f"{resource_type}/{raw}"
    try:
        return reference_id(value, resource_type, name)
    except FhirError as exc:
        raise FhirError(400, exc.message, expression=name) from None


def split_token(raw: str, name: str) -> tuple[str | None, str]:
    """``system|value`` or ``value``."""
    system, bar, value = raw.partition("|")
    if not bar:
        system, value = "", raw
    if not value.strip():
        raise FhirError(400, "a token needs a value (system|value)", expression=name)
    return (system or None), value.strip()


def parse_date_eq(raw: str, name: str) -> date:
    """An exact day, ``YYYY-MM-DD`` with an optional ``eq`` prefix."""
    value = raw[2:] if raw.startswith("eq") else raw
    if value[:2].isalpha():
        raise FhirError(400, f"only exact days are supported for {name} (eq)", expression=name)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FhirError(400, "expected a day as YYYY-MM-DD", expression=name) from None


PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


def parse_date_range(values: list[str], name: str) -> tuple[date | None, date | None]:
    """Days from repeated date parameters (``date=ge2026-01-01&date=lt2026-02-01``): the
    first day included and the first day excluded. Supported prefixes: eq, ge, gt, le, lt."""
    start: date | None = None
    end: date | None = None
    from datetime import timedelta

    for raw in values:
        prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
        value = raw[2:] if raw[:2] in PREFIXES else raw
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            raise FhirError(400, "expected a day as YYYY-MM-DD", expression=name) from None
        if prefix == "eq":
            start, end = _later(start, day), _earlier(end, day + timedelta(days=1))
        elif prefix == "ge":
            start = _later(start, day)
        elif prefix == "gt":
            start = _later(start, day + timedelta(days=1))
        elif prefix == "le":
            end = _earlier(end, day + timedelta(days=1))
        elif prefix == "lt":
            end = _earlier(end, day)
        else:
            raise FhirError(400, f"date prefix {prefix} is not supported", expression=name)
    return start, end


def _later(a: date | None, b: date) -> date:
    return b if a is None or b > a else a


def _earlier(a: date | None, b: date) -> date:
    return b if a is None or b < a else a


def date_params(request: Request, name: str = "date") -> list[str]:
    """The values of a repeatable date parameter (at most four, each short)."""
    values = request.query_params.getlist(name)
    if len(values) > 4 or any(len(v) > 40 for v in values):
        raise FhirError(400, f"at most four {name} parameters", expression=name)
    return values


def token_list(raw: str | None, codes: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated token parameter (``a,b`` or ``system|a``), each FHIR code
    translated with ``codes``."""
    if raw is None:
        return ()
    wanted = []
    for value in raw.split(","):
        code = value.strip().partition("|")[2] or value.strip()
        if code not in codes:
            raise FhirError(400, f"{name} must be one of {', '.join(codes)}", expression=name)
        wanted.append(codes[code])
    return tuple(wanted)
