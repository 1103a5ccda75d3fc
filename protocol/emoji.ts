/**
 * @module protocol/emoji
 * What a reaction may be (docs/protocol.md §6.10, §10): one emoji, as people pick them from a
 * keyboard's emoji panel. A pictograph with an optional variation selector or skin tone, joined
 * with others by zero-width joiners (👨‍👩‍👧), a subdivision flag's tag sequence (🏴󠁧󠁢󠁳󠁣󠁴󠁿),
 * a keycap (1️⃣) or a country flag (two regional indicators), and nothing else: no text, no
 * whitespace, never two emoji. A wire rule, so every client and the server agree on it.
 */

/** A reaction is at most this many UTF-16 units (a family of four with skin tones fits). */
export const MAX_EMOJI_UNITS = 32;

const PICTOGRAPH = String.raw`\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?(?:[\u{E0020}-\u{E007E}]+\u{E007F})?`;
const EMOJI = new RegExp(
  String.raw`^(?:[\u{1F1E6}-\u{1F1FF}]{2}|[0-9#*]\uFE0F?\u20E3|${PICTOGRAPH}(?:\u200D${PICTOGRAPH})*)$`,
  "u",
);

/** True for exactly one emoji of at most MAX_EMOJI_UNITS UTF-16 units. */
export function isEmoji(text: string): boolean {
  return text.length > 0 && text.length <= MAX_EMOJI_UNITS && EMOJI.test(text);
}

/** A reaction's `emoji` on the wire: one emoji, or `""` for "no reaction" (taken back). */
export function isReactionEmoji(text: string): boolean {
  return text === "" || isEmoji(text);
}
