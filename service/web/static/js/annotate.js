// What the pipeline reported about a translation, placed in the text: flagged
// sentences (with their reasons) and applied glossary terms.

import {h} from "./dom.js";
import {flagMark, occurrences, sentenceOccurrences, termMark} from "./marks.js";

const REASONS = {
  untranslated: "left untranslated (still in the source language)",
  wrong_script: "written in the wrong script",
  wrong_language: "in the wrong language",
  repetition: "repeats itself",
  length_ratio: "much longer or shorter than the source",
  numbers: "numbers differ from the source",
  lost_placeholder: "a link, address or handle was lost",
  glossary: "a glossary term did not come through",
  lost_markup: "formatting (links, emphasis) was lost",
};

const FIELDS = {title: "Headline", summary: "Summary", body: "Article"};

export function reasonText(codes) {
  return codes.map((code) => REASONS[code] || code.replaceAll("_", " ")).join("; ");
}

/** The flags of every finished language, numbered, with the ids of their list items. */
export function collectFlags(job) {
  const flags = [];
  for (const [code, translation] of Object.entries(job.translations)) {
    (translation.flags || []).forEach((flag, n) => {
      flags.push({...flag, language: code, id: `flag-${code}-${n}`});
    });
  }
  return flags;
}

/** The list of flagged sentences: language, where, the sentence, why. */
export function renderFlagList(list, flags, languageName) {
  list.replaceChildren(
    ...flags.map((flag) =>
      h(
        "li",
        {id: flag.id},
        h("span", {class: "flag-lang"}, languageName(flag.language)),
        " · ",
        `${FIELDS[flag.field] || flag.field}, sentence ${flag.index + 1}: `,
        h("q", {dir: "auto"}, flag.source),
        " — ",
        h("span", {class: "flag-reason"}, reasonText(flag.flags)),
      ),
    ),
  );
}

/** Marks in one cell of a language's pane (field: title, summary or body). */
export function translationRanges(text, field, translation, flags, direction, sourceParagraph) {
  const ranges = [];
  for (const term of translation.terms || []) {
    if (term.field !== field) continue;
    for (const [start, end] of occurrences(text, term.target)) {
      ranges.push({start, end, make: termMark(term, direction)});
    }
  }
  for (const flag of flags) {
    if (flag.field !== field) continue;
    const reasons = reasonText(flag.flags);
    const at = flag.target ? sentenceOccurrences(text, flag.target) : [];
    if (at.length) {
      for (const [start, end] of at) ranges.push({start, end, make: flagMark(reasons, flag.id)});
    } else if (field !== "body" || (sourceParagraph !== null && sourceParagraph.includes(flag.source))) {
      // the translation is not found as such: the whole cell is what was flagged
      ranges.push({start: 0, end: text.length, make: flagMark(reasons, flag.id)});
    }
  }
  return ranges;
}

/** Marks in one cell of the source pane: terms applied and sentences flagged, any language. */
export function sourceRanges(text, field, job, flags, languageName) {
  const ranges = [];
  const terms = new Map();
  for (const translation of Object.values(job.translations)) {
    for (const term of translation.terms || []) {
      if (term.field === field) terms.set(term.source, term);
    }
  }
  for (const term of terms.values()) {
    for (const [start, end] of occurrences(text, term.source)) {
      ranges.push({start, end, make: termMark({...term, direction: null}, null)});
    }
  }
  const bySentence = new Map();
  for (const flag of flags) {
    if (flag.field !== field) continue;
    const entry = bySentence.get(flag.source) || {reasons: [], id: flag.id};
    entry.reasons.push(`${languageName(flag.language)}: ${reasonText(flag.flags)}`);
    bySentence.set(flag.source, entry);
  }
  for (const [sentence, entry] of bySentence) {
    for (const [start, end] of sentenceOccurrences(text, sentence)) {
      ranges.push({start, end, make: flagMark(entry.reasons.join(" · "), entry.id)});
    }
  }
  return ranges;
}
