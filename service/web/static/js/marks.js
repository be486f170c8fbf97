// Marks in a text: flagged sentences and glossary terms, built as elements around
// text nodes (never as markup).

import {h} from "./dom.js";

// The pipeline reports long sentences shortened to this many characters.
const SHORTENED = 200;
const SENTENCE_END = /[.!?։؟…。][”"»’)\]]*(?=\s|$)/g;

/** Every place `needle` occurs in `text`, as [start, end). */
export function occurrences(text, needle) {
  const found = [];
  if (!needle) return found;
  let at = text.indexOf(needle);
  while (at >= 0) {
    found.push([at, at + needle.length]);
    at = text.indexOf(needle, at + needle.length);
  }
  return found;
}

/** Like occurrences, for a sentence the pipeline may have shortened: to its end. */
export function sentenceOccurrences(text, sentence) {
  return occurrences(text, sentence).map(([start, end]) => {
    if (sentence.length < SHORTENED) return [start, end];
    SENTENCE_END.lastIndex = end;
    const close = SENTENCE_END.exec(text);
    return [start, close ? close.index + close[0].length : text.length];
  });
}

/**
 * Append `text` to `parent` with its ranges marked. A range is
 * {start, end, make: () => [outer, inner]}: the elements to wrap the range's text in
 * (inner is where the text goes, e.g. a <bdi> inside a <mark>). Ranges may nest
 * (a term inside a flagged sentence); one that only overlaps another is left out.
 */
export function appendMarked(parent, text, ranges) {
  const sorted = [...ranges].sort((a, b) => a.start - b.start || b.end - a.end);
  let position = 0;
  let i = 0;
  while (i < sorted.length) {
    const range = sorted[i];
    if (range.start < position || range.end <= range.start) {
      i += 1;
      continue;
    }
    parent.append(text.slice(position, range.start));
    const inside = [];
    let j = i + 1;
    for (; j < sorted.length && sorted[j].start < range.end; j += 1) {
      if (sorted[j].end <= range.end) {
        inside.push({...sorted[j], start: sorted[j].start - range.start, end: sorted[j].end - range.start});
      }
    }
    const [outer, inner] = range.make();
    appendMarked(inner, text.slice(range.start, range.end), inside);
    parent.append(outer);
    position = range.end;
    i = j;
  }
  parent.append(text.slice(position));
  return parent;
}

/** A mark for a glossary term: the term isolated (<bdi>) where its direction differs. */
export function termMark(term, paneDirection) {
  return () => {
    const title = term.keep
      ? `Glossary: “${term.source}” is kept as it is`
      : `Glossary: “${term.source}” → “${term.target}”`;
    const mark = h("mark", {class: "term", title});
    if (term.direction && term.direction !== paneDirection) {
      const isolated = h("bdi", {dir: term.direction});
      mark.append(isolated);
      return [mark, isolated];
    }
    return [mark, mark];
  };
}

/** A mark for a flagged sentence: its reasons on hover and focus, and in the list. */
export function flagMark(reasons, listId) {
  return () => {
    const mark = h("mark", {
      class: "flag",
      tabindex: "0",
      title: reasons,
      "data-reason": reasons,
      "aria-describedby": listId,
    });
    return [mark, mark];
  };
}
