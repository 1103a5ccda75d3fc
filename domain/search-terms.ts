/**
 * @module domain/search-terms
 * How text becomes search terms, and a query becomes a match (docs/architecture.md "Search").
 * One definition for the index a channel writes and the queries it answers.
 *
 * Text is normalised (NFKC, lowercase) and cut into runs. A run of letters and digits of an
 * alphabetic script is one term, matched by prefix (`hel` finds "hello"; SQLite's unicode61
 * tokenizer then folds diacritics, so `cafe` finds "café"). A run of CJK characters (Hangul,
 * kana, Han) is indexed as every single character and every pair of neighbours (unigrams and
 * bigrams): Korean writes particles onto the word (학교에서, "at school"), and compounds without
 * spaces, so words are not what the spaces separate. A query's CJK run of one character matches
 * the unigram, and a longer one the AND of its bigrams, confirmed against the text (the bigrams
 * of a three-syllable query can occur apart). So one- and two-syllable words and words followed
 * by particles are all found, which a trigram index cannot do for queries under three characters.
 */

/** Hangul syllables and jamo, kana, and CJK ideographs: scripts written without spaces between words. */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0xac00 && cp <= 0xd7ff) || // Hangul syllables, jamo extended-B
    (cp >= 0x1100 && cp <= 0x11ff) || // Hangul jamo
    (cp >= 0x3130 && cp <= 0x318f) || // Hangul compatibility jamo
    (cp >= 0xa960 && cp <= 0xa97f) || // Hangul jamo extended-A
    (cp >= 0x3040 && cp <= 0x30ff) || // Hiragana, Katakana
    (cp >= 0x3400 && cp <= 0x4dbf) || // CJK extension A
    (cp >= 0x4e00 && cp <= 0x9fff) || // CJK unified ideographs
    (cp >= 0xf900 && cp <= 0xfaff) || // CJK compatibility ideographs
    (cp >= 0xff66 && cp <= 0xff9f) || // half-width katakana
    (cp >= 0x20000 && cp <= 0x3ffff) // CJK extensions B and later
  );
}

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

interface Run {
  cjk: boolean;
  chars: string[];
}

/** Normalised runs of a text: each a word of an alphabetic script or a run of CJK characters. */
function runs(text: string): Run[] {
  const out: Run[] = [];
  let run: Run | null = null;
  for (const ch of text.normalize("NFKC").toLowerCase()) {
    const cp = ch.codePointAt(0)!;
    const cjk = isCjk(cp);
    if (!cjk && !WORD_CHAR.test(ch)) {
      run = null;
      continue;
    }
    if (!run || run.cjk !== cjk) {
      run = { cjk, chars: [] };
      out.push(run);
    }
    run.chars.push(ch);
  }
  return out;
}

/**
 * The terms a message is indexed under, separated by spaces: its words, and the unigrams and
 * bigrams of its CJK runs. Duplicates are dropped (the index keeps no positions or counts).
 */
export function indexTerms(text: string): string {
  const terms = new Set<string>();
  for (const run of runs(text)) {
    if (!run.cjk) {
      terms.add(run.chars.join(""));
      continue;
    }
    for (let i = 0; i < run.chars.length; i++) {
      terms.add(run.chars[i]!);
      if (i + 1 < run.chars.length) terms.add(run.chars[i]! + run.chars[i + 1]!);
    }
  }
  return [...terms].join(" ");
}

/** A parsed query: what to ask the index, and what to confirm and highlight in a message. */
export interface SearchQuery {
  /** An FTS5 MATCH expression. */
  match: string;
  /** CJK runs of three or more characters: the bigram AND is confirmed by finding the run itself. */
  confirm: string[];
  /** Every run, to highlight: CJK runs as they are, words as prefixes. */
  parts: { text: string; prefix: boolean }[];
}

/** Longest query, in UTF-16 units, and most runs: a query is a few words, not a document. */
export const MAX_QUERY_CHARS = 200;
export const MAX_QUERY_RUNS = 10;

/** Parses a query, or returns null when it has no letters, digits or CJK characters to look for. */
export function parseQuery(q: string): SearchQuery | null {
  const parsed = runs(q.slice(0, MAX_QUERY_CHARS)).slice(0, MAX_QUERY_RUNS);
  if (parsed.length === 0) return null;
  const terms: string[] = [];
  const confirm: string[] = [];
  const parts: SearchQuery["parts"] = [];
  const quote = (t: string) => `"${t.replaceAll('"', '""')}"`;
  for (const run of parsed) {
    const text = run.chars.join("");
    if (!run.cjk) {
      terms.push(`${quote(text)}*`);
      parts.push({ text, prefix: true });
      continue;
    }
    if (run.chars.length === 1) terms.push(quote(text));
    else for (let i = 0; i + 1 < run.chars.length; i++) terms.push(quote(run.chars[i]! + run.chars[i + 1]!));
    if (run.chars.length >= 3) confirm.push(text);
    parts.push({ text, prefix: false });
  }
  return { match: [...new Set(terms)].join(" AND "), confirm, parts };
}

/** Whether a message the index found really holds the query (its long CJK runs, unbroken). */
export function confirms(query: SearchQuery, text: string): boolean {
  if (query.confirm.length === 0) return true;
  const normal = text.normalize("NFKC").toLowerCase();
  return query.confirm.every((run) => normal.includes(run));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Where the query's parts occur in `text`, as `[start, end)` offsets in UTF-16 units, ascending
 * and not overlapping: CJK runs where they stand, words from their start to the word's end.
 * Case-insensitive; a match that only folding diacritics or NFKC would find is not highlighted.
 */
export function highlights(query: SearchQuery, text: string): [number, number][] {
  const alternatives = query.parts
    .map((p) =>
      p.prefix ? `(?<![\\p{L}\\p{N}])${escapeRegExp(p.text)}[\\p{L}\\p{N}\\p{M}]*` : escapeRegExp(p.text),
    )
    .join("|");
  const out: [number, number][] = [];
  for (const m of text.matchAll(new RegExp(alternatives, "giu"))) {
    if (m[0].length > 0) out.push([m.index, m.index + m[0].length]);
  }
  return out;
}

/** A hit's text as shown in a result list: at most about `max` units around its first match. */
export function snippet(
  text: string,
  ranges: [number, number][],
  max = 160,
): { text: string; highlights: [number, number][] } {
  if (text.length <= max) return { text, highlights: ranges };
  const first = ranges[0]?.[0] ?? 0;
  let start = Math.max(0, Math.min(first - Math.floor(max / 3), text.length - max));
  let end = Math.min(text.length, start + max);
  // Never cut a surrogate pair in two.
  if (start > 0 && isLowSurrogate(text.charCodeAt(start))) start--;
  if (end < text.length && isLowSurrogate(text.charCodeAt(end))) end++;
  const before = start > 0 ? "…" : "";
  const after = end < text.length ? "…" : "";
  const shift = before.length - start;
  const inside = ranges
    .filter(([s, e]) => s >= start && e <= end)
    .map(([s, e]): [number, number] => [s + shift, e + shift]);
  return { text: before + text.slice(start, end) + after, highlights: inside };
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Lowercase, compatibility-normalised, without diacritics: how words compare. */
function foldWord(word: string): string {
  return word.normalize("NFKC").toLowerCase().normalize("NFD").replace(/\p{M}/gu, "");
}

/**
 * Whether a text holds the query, decided from the text alone (what the index and `confirms`
 * decide together): every CJK run as it stands, every word as the start of a word. Used for the
 * newest messages, which the index takes in a batch a moment after they are stored.
 */
export function matchesText(query: SearchQuery, text: string): boolean {
  const normal = text.normalize("NFKC").toLowerCase();
  let words: string[] | undefined;
  return query.parts.every((p) => {
    if (!p.prefix) return normal.includes(p.text);
    words ??= runs(text)
      .filter((r) => !r.cjk)
      .map((r) => foldWord(r.chars.join("")));
    const prefix = foldWord(p.text);
    return words.some((w) => w.startsWith(prefix));
  });
}
