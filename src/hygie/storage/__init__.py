"""The storage layer: the only place that builds queries. Services call these functions
with the session of their unit of work; they never write SQL themselves.

The next layer up (the access gate) will make this package private to itself."""
