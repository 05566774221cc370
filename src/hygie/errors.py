"""Domain errors: every rule a service enforces fails with one of these, never with a
database or Python error. Each carries a message meant for the person who typed the input
and, where it helps, the name of the offending field."""

from __future__ import annotations


class HygieError(Exception):
    """Base class of every error Hygie reports to a user."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationError(HygieError):
    """The input breaks a rule (format, range, coherence)."""


class NotFoundError(HygieError):
    """The thing referred to does not exist."""


class ConflictError(HygieError):
    """The input is valid but clashes with what is stored (duplicate NIR, double booking...)."""


class ConfigurationError(HygieError):
    """The installation is not usable as configured (missing or wrong keys, bad URL...)."""
