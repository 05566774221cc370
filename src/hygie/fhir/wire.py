"""FHIR on the wire: JSON with the FHIR media type, every resource checked against the
R4 models of ``fhir.resources`` before it leaves (R4B package: see docs/DECISIONS.md)."""

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


def checked(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource``, once its model accepts it: what Hygie emits is valid FHIR, or fails
    here (a bug, answered 500) rather than at the client."""
    model_of(resource["resourceType"]).model_validate(resource)
    return resource


def fhir_response(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(checked(body)),
        status_code=status,
        media_type=f"{MEDIA_TYPE}; charset=utf-8",
        headers=headers,
    )
