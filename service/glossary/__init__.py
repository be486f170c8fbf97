"""Glossaries: per-tenant terminology that translations must follow.

    entries.py   validating entries; the keys that tell duplicates and occurrences apart
    schemas.py   request and response bodies
    store.py     the ``glossaries`` table, and the worker's record of terms applied
    csvfile.py   CSV import and export
    tbx.py       TBX-Basic import and export (TBX v2 ``martif`` and TBX v3 ``tbx``)
    domain.py    the functions behind the routes, and the glossary snapshot of a job

The worker matches and protects the terms (``worker.pipeline.glossary``); nothing here
imports the worker.
"""
