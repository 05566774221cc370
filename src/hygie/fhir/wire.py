"""FHIR on the wire: JSON with the FHIR media type.

What Hygie emits is valid against the R4 models of ``fhir.resources`` (R4B package: see
docs/DECISIONS.md): the tests check every answer they get against them. The server does
not check again on the way out: that check cost more than the rest of a read (docs/
DECISIONS.md, "FHIR output validated by the tests, not at every response")."""

from __future__ import annotations

from typing import Any

import orjson
from fhir.resources import R4B
from starlette.responses import Response

MEDIA_TYPE = "application/fhir+json"
FHIR_VERSION = "4.0.1"


def model_of(resource_type: str) -> Any:
    """The ``fhir.resources`` model class of a resource type (KeyError if unknown)."""
    return R4B.get_fhir_model_class(resource_type)


def fhir_response(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=f"{MEDIA_TYPE}; charset=utf-8",
        headers=headers,
    )
