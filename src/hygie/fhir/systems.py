"""Identifier systems and code systems Hygie uses in FHIR resources (French context)."""

from __future__ import annotations

# INS: the national health identifier, with the OIDs of the ANS (FR Core).
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
INS_NIA = "urn:oid:1.2.250.1.213.1.4.9"
# Health professionals (RPPS) and establishments (FINESS), ANS OIDs.
RPPS = "urn:oid:1.2.250.1.71.4.2.1"
FINESS = "urn:oid:1.2.250.1.71.4.2.2"
# A patient's file number (IPP) in one establishment. Each establishment has its own
# system; Hygie names it after the FINESS until an installation registers its own OIDs.
IPP_PREFIX = "https://hygie.invalid/fhir/sid/ipp/"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CIM10 = "http://hl7.org/fhir/sid/icd-10"
SUBSETTED = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"


def ipp_system(finess: str) -> str:
    return f"{IPP_PREFIX}{finess}"


def finess_of_ipp_system(system: str) -> str | None:
    return system.removeprefix(IPP_PREFIX) if system.startswith(IPP_PREFIX) else None
