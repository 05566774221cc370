"""Search results as FHIR Bundles (type searchset) with ``total``, ``_count`` (default 20,
at most 100), and ``self`` / ``next`` / ``previous`` links carrying ``_offset``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = 10_000_000


@dataclass(frozen=True)
class Paging:
    offset: int
    count: int


async def paging(
    count: Annotated[int | None, Query(alias="_count", ge=0, le=1_000_000)] = None,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)] = 0,
) -> Paging:
    """``_count`` above the maximum is served at the maximum (the ``self`` link says so)."""
    return Paging(offset=offset, count=DEFAULT_COUNT if count is None else min(count, MAX_COUNT))


Page = Annotated[Paging, Depends(paging)]


def _link(request: Request, params: Mapping[str, str], offset: int, count: int) -> str:
    query = [(k, v) for k, v in params.items() if k not in ("_offset", "_count")]
    query += [("_count", str(count)), ("_offset", str(offset))]
    return f"{base_url(request)}{request.url.path.removeprefix('/fhir')}?{urlencode(query)}"


def base_url(request: Request) -> str:
    """The server's FHIR base, as the client reached it."""
    return f"{request.url.scheme}://{request.url.netloc}/fhir"


def searchset(
    request: Request,
    resources: Iterable[dict[str, Any]],
    *,
    total: int,
    page: Paging,
    included: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The Bundle of one page of a search. Repeated parameters keep their last value in
    the links (every search parameter here takes one value)."""
    params = dict(request.query_params)
    base = base_url(request)
    entries = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
         "search": {"mode": "match"}} for r in resources
    ] + [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
         "search": {"mode": "include"}} for r in included
    ]  # fmt: skip
    links = [{"relation": "self", "url": _link(request, params, page.offset, page.count)}]
    if page.count and page.offset + page.count < total:
        links.append(
            {
                "relation": "next",
                "url": _link(request, params, page.offset + page.count, page.count),
            }
        )
    if page.offset > 0 and page.count:
        previous = max(0, page.offset - page.count)
        links.append({"relation": "previous", "url": _link(request, params, previous, page.count)})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total,
                              "link": links}  # fmt: skip
    if entries:  # FHIR has no empty arrays
        bundle["entry"] = entries
    return bundle
