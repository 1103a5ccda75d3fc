/**
 * @module web/long-text
 * Messages longer than a screen are folded: the bubble stops at about half the height of the
 * window (style.css, `.bubble.folded`) with a "Show more" button under it, and unfolds in place.
 * A message may be 100,000 characters, a bubble some 35,000 pixels tall: unfolded, it would
 * push everything else off the screen and cost the browser a long layout on every render.
 *
 * Which messages fold is measured, not guessed from the length: a text that might be taller
 * than the fold is rendered folded, and the view unfolds it again if it fits (see
 * `ConversationView`). Only the first {@link FOLDED_PREFIX} UTF-16 units of a very long text
 * are put in the page while it is folded: far more than the fold shows at any width, and a
 * page with many long messages stays light.
 */

/** A text shorter than this and with fewer lines cannot reach the fold on any screen. */
const MAY_FOLD_CHARS = 400;
const MAY_FOLD_LINES = 10;
/** A folded text is cut to this many UTF-16 units (at a code point boundary). */
export const FOLDED_PREFIX = 5_000;

/** Might the text be taller than the fold? (Then it is rendered folded and measured.) */
export function mayFold(text: string): boolean {
  if (text.length > MAY_FOLD_CHARS) return true;
  let lines = 1;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) {
    if (++lines > MAY_FOLD_LINES) return true;
  }
  return false;
}

/** Is the text too long to put in the page whole while folded? */
export function isCut(text: string): boolean {
  return text.length > FOLDED_PREFIX;
}

/** The beginning of a text that {@link isCut}: what its folded bubble holds. */
export function foldedText(text: string): string {
  if (!isCut(text)) return text;
  // Do not split a surrogate pair: cut before a high surrogate whose pair is past the cut.
  const code = text.charCodeAt(FOLDED_PREFIX - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? FOLDED_PREFIX - 1 : FOLDED_PREFIX;
  return text.slice(0, end);
}
