"""Small generic helpers with no knowledge of the domain's storage."""
