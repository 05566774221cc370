"""The scheduling domain."""
