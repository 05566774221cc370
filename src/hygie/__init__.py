"""Hygie: a patient-record system (DPI) for groups of clinics and hospitals."""

__version__ = "0.1.0"
