"""Resources sent by clients: JSON of the right type, accepted by the R4 model."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from pydantic import ValidationError as ModelError
from starlette.requests import Request

from hygie.fhir.outcome import FhirError
from hygie.fhir.wire import model_of


def body_of(resource_type: str) -> Callable[[Request], Coroutine[Any, Any, dict[str, Any]]]:
    """A dependency giving the request's ``resource_type`` resource (``parse_resource``;
    an update's id, the path's ``ident``, must be the body's). Writing routes take the body
    this way and are plain functions: their gate transactions run in the thread pool, not
    in the event loop the direct reads share."""

    async def body(request: Request) -> dict[str, Any]:
        return await parse_resource(
            request, resource_type, expect_id=request.path_params.get("ident")
        )

    return body


async def parse_resource(
    request: Request, resource_type: str, *, expect_id: str | None = None
) -> dict[str, Any]:
    """The resource in the request body, as a dict, once the ``fhir.resources`` model of
    ``resource_type`` has accepted it; ``expect_id``: an update's id, which the body must
    carry."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/fhir+json", "application/json"):
        raise FhirError(415, "send the resource as application/fhir+json")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise FhirError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict) or body.get("resourceType") != resource_type:
        raise FhirError(
            400, f"the body must be a {resource_type} resource", expression="resourceType"
        )
    try:
        model_of(resource_type).model_validate(body)
    except ModelError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FhirError(
            400, f"not a valid {resource_type}: {first.get('msg', 'invalid')}",
            expression=f"{resource_type}.{where}" if where else resource_type,
        ) from None  # fmt: skip
    if expect_id is not None and body.get("id") != expect_id:
        raise FhirError(
            400, "the resource's id must be the one in the URL", expression=f"{resource_type}.id"
        )
    return body
