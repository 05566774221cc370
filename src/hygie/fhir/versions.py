"""Versions of resources for conditional updates: ``meta.versionId`` and the ETag are a
digest of the resource as the caller sees it, so a client that read a resource, then sends
``If-Match`` with its ETag, is refused (412) if the resource changed in between."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.requests import Request

from hygie.fhir.outcome import FhirError


def version_of(resource: dict[str, Any]) -> str:
    content = {k: v for k, v in resource.items() if k != "meta"}
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def versioned(resource: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The resource with its ``meta.versionId``, and the ETag header that goes with it."""
    version = version_of(resource)
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = version
    return {**resource, "meta": meta}, {"ETag": f'W/"{version}"'}


def check_if_match(request: Request, current: dict[str, Any]) -> None:
    wanted = request.headers.get("if-match")
    if wanted is None:
        return
    tag = wanted.strip().removeprefix("W/").strip('"')
    if tag != version_of(current):
        raise FhirError(
            412, "the resource changed since that version was read (If-Match): read it again",
            code="conflict",
        )  # fmt: skip
