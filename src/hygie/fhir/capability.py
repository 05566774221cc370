"""``GET /fhir/metadata``: the CapabilityStatement, built from the resource modules'
declarations (:mod:`hygie.fhir.spec`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from hygie import __version__
from hygie.fhir.deps import BREAK_GLASS_REASON, BREAK_GLASS_TEXT
from hygie.fhir.spec import ResourceSpec
from hygie.fhir.wire import FHIR_VERSION, fhir_response

SECURITY = (
    "Every request needs an API token (Authorization: Bearer; `hygie token issue USERNAME "
    "--scope read|write`, default lifetime one hour). A read-scope token reads and searches; "
    "create and update need a write-scope token. Every request is decided by the access "
    "gate with the token's account habilitations and recorded in the audit trail "
    "(how = api). Clinical content needs a care relationship; without one, a clinician may "
    f"break the glass by resending the request with the headers {BREAK_GLASS_REASON} "
    "(emergency, continuity, on_call, patient_request or other) and "
    f"{BREAK_GLASS_TEXT} (why, at least 10 characters, percent-encoded UTF-8): the grant "
    "lasts four hours for that patient and is reviewed by a security officer."
)


def statement(base: str, specs: Sequence[ResourceSpec]) -> dict[str, Any]:
    resources = []
    for spec in specs:
        entry: dict[str, Any] = {
            "type": spec.type,
            "interaction": [{"code": code} for code in spec.interactions],
            "versioning": spec.versioning,
        }
        if spec.documentation:
            entry["documentation"] = spec.documentation
        if "update" in spec.interactions:
            entry["updateCreate"] = False
        if spec.search_params:
            entry["searchParam"] = [
                {"name": p.name, "type": p.type, "documentation": p.documentation}
                for p in spec.search_params
            ]
        if spec.operations:
            entry["operation"] = [
                {"name": o.name, "definition": o.definition, "documentation": o.documentation}
                for o in spec.operations
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-23",
        "kind": "instance",
        "software": {"name": "Hygie", "version": __version__},
        "implementation": {"description": "Hygie DPI, FHIR R4 API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                    "display": "OAuth",
                                }
                            ],
                            "text": "Bearer tokens issued by Hygie",
                        }
                    ],
                    "description": SECURITY,
                },
                "resource": resources,
            }
        ],
    }


def router(specs: Sequence[ResourceSpec]) -> APIRouter:
    routes = APIRouter()

    @routes.get("/metadata")
    def metadata(request: Request) -> Response:
        """The CapabilityStatement (public, like every FHIR server's)."""
        base = f"{request.url.scheme}://{request.url.netloc}/fhir"
        return fhir_response(statement(base, specs))

    return routes
