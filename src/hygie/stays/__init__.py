"""The stays domain."""
