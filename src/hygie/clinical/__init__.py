"""The clinical domain."""
