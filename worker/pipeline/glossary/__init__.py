"""Glossary terms through translation: find them, mask them, put the desk's wording back.

Around the engine call, for one sentence and one target language::

    protected = protect(sentence)                      # URLs, e-mails... -> [1], [2]
    masked = index.mask(protected.masked)              # glossary terms  -> [3], [4]
    raw = translator.translate(masked.masked)
    terms = restore_terms(masked, raw, target)         # [3] -> "Dağlıq Qarabağ"
    text, lost = restore(protected, terms.text)        # [1] -> the URL
    flags += terms.flags                               # ["glossary"] if a term was lost

``index`` is a ``TermIndex`` compiled once per job, source and target language by
``JobGlossary.index`` from the entries the API stored on the job. The matching rules and
the choice of placeholder (measured) are in docs/architecture.md.
"""

from worker.pipeline.glossary.match import (
    JobGlossary,
    TermIndex,
    applied_entries_key,
    cache_model_key,
)
from worker.pipeline.glossary.terms import (
    PLACEHOLDER,
    RULES_VERSION,
    AppliedTerm,
    Entry,
    MaskedTerms,
    RestoredTerms,
    TermMatch,
    applied_terms,
    direction_of,
    entries_from_snapshot,
    render_target,
    restore_terms,
)

__all__ = [
    "PLACEHOLDER",
    "RULES_VERSION",
    "AppliedTerm",
    "Entry",
    "JobGlossary",
    "MaskedTerms",
    "RestoredTerms",
    "TermIndex",
    "TermMatch",
    "applied_entries_key",
    "applied_terms",
    "cache_model_key",
    "direction_of",
    "entries_from_snapshot",
    "render_target",
    "restore_terms",
]
