"""The FHIR R4 REST API under ``/fhir``: every interaction reaches patient data through the
access gate, with the caller's API token (``how="api"``)."""

from __future__ import annotations

from fastapi import FastAPI

from hygie.fhir import routes


def mount(app: FastAPI) -> None:
    """Add the FHIR routes and their OperationOutcome error handling to ``app``."""
    routes.install(app)
