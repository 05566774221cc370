"""The patients domain."""
