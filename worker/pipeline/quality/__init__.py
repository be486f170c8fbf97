"""Pre- and post-processing around a translation model, and checks on its output.

Pure functions, no model loading. The pipeline for one sentence is::

    protected = protect(source)                   # mask URLs, e-mails, @handles, #hashtags
    raw = translator.translate(protected.masked)  # pieces from split_long_sentence if too long
    text, lost = restore(protected, raw)
    text, problems = repair_numbers(source, text, target)
    text = normalize_output(text, target)
    flags = check_translation(source, text, source_lang, target)

Why numbers are not masked: NLLB-style sentencepiece models copy digits very
reliably (digits are frequent, short pieces) and localise them where the target
wants it (Persian digits, decimal comma), while a placeholder in place of a
number loses the grammar around it (plural agreement, "3-cü" ordinal suffixes in
Azerbaijani) and can itself be dropped. So numbers stay in the text and are
checked and repaired afterwards. URLs, e-mails, handles and hashtags are the
opposite: long runs of rare pieces that models transliterate into the target
script or "translate" word by word; they are masked.

The placeholder is ``[N]``: ASCII brackets and digits exist in every model's
vocabulary and in every script's text, so they are neither transliterated nor
turned into ``<unk>``. Models may space them (``[ 1 ]``), swap the bracket kind
or write the digit in the target's script (``[۱]``); ``restore`` accepts all of
these. Masking was not measured against a real NLLB checkpoint here; the
restore side is tolerant because of that.

Modules: ``protect`` (masking), ``numbers`` (digits and number fidelity),
``orthography`` (target-language clean-up), ``checks`` (flags on the output),
``splitting`` (sentences longer than the model takes).
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
