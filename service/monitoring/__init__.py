"""Prometheus metrics of the API: what it records, what it reads from the store at
scrape time, and the folder its processes share (``multiprocess``)."""
