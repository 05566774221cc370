"""FHIR routes (filled in by the FHIR modules)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    return None
