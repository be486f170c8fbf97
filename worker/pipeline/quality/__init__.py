"""Pre- and post-processing around a translation model, and checks on its output.

Pure functions, no model loading. For one sentence::

    protected = protect(source)                   # mask URLs, e-mails, @handles, #hashtags
    raw = translator.translate(protected.masked)  # pieces from split_long_sentence if too long
    text, lost = restore(protected, raw)
    text, problems = repair_numbers(source, text, target)
    text = normalize_output(text, target)
    flags = check_translation(source, text, source_lang, target)

Numbers are left in the text and repaired afterwards rather than masked; see
docs/architecture.md for why, and for the choice of the ``[N]`` placeholder.
"""

from worker.pipeline.quality.checks import Flag, check_translation, has_repetition
from worker.pipeline.quality.numbers import (
    NumberToken,
    find_numbers,
    number_mismatches,
    repair_numbers,
    to_ascii_digits,
)
from worker.pipeline.quality.orthography import normalize_output, restore_zwnj
from worker.pipeline.quality.protect import Protected, protect, restore
from worker.pipeline.quality.splitting import join_pieces, split_long_sentence

__all__ = [
    "Flag",
    "NumberToken",
    "Protected",
    "check_translation",
    "find_numbers",
    "has_repetition",
    "join_pieces",
    "normalize_output",
    "number_mismatches",
    "protect",
    "repair_numbers",
    "restore",
    "restore_zwnj",
    "split_long_sentence",
    "to_ascii_digits",
]
