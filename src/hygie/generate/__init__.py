"""Synthetic data: a realistic group of establishments, its staff and its patients.

``plan`` creates the organisation and staff through the services; ``patients`` makes the
patient population chunk by chunk (each chunk seeded from the run's seed and its index, so
the same seed gives the same data whatever the number of worker processes); ``load``
writes chunks with PostgreSQL COPY or batched SQLite inserts; ``runner`` ties them together.
"""
