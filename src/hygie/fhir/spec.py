"""What each FHIR resource module declares it supports: the CapabilityStatement is built
from these declarations and from nothing else, so that it tells the truth."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # FHIR search parameter type: string, token, date, reference...
    documentation: str


@dataclass(frozen=True)
class Operation:
    name: str  # without the $
    definition: str
    documentation: str


@dataclass(frozen=True)
class ResourceSpec:
    type: str
    # FHIR interaction codes: read, search-type, create, update...
    interactions: tuple[str, ...]
    search_params: tuple[SearchParam, ...] = ()
    operations: tuple[Operation, ...] = ()
    documentation: str = ""
    versioning: str = "no-version"
    conditional_update: bool = False
    extra: dict[str, object] = field(default_factory=dict)
