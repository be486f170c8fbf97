"""Throughput benchmark of the translation path: ``python -m bench.run`` (``make bench``)."""
