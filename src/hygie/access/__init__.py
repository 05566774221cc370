"""The access gate: the only way to read or write patient data (see docs/ARCHITECTURE.md)."""
