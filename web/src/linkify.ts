/**
 * @module web/linkify
 * Message text is untrusted. It is rendered as text nodes, and only `http:` and `https:` URLs
 * become links, built with the DOM (`href` set from a parsed URL, `rel="noopener noreferrer"`,
 * `target="_blank"`). Nothing is ever parsed as HTML.
 */

// A URL candidate: scheme, then anything up to whitespace or a character that rarely ends a URL.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
// Punctuation that usually ends the sentence rather than the URL.
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** A safe absolute http(s) URL for `candidate`, or null. */
export function safeHttpUrl(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  return url.href;
}

/** Splits `text` into plain strings and http(s) link targets, in order. */
export function tokenize(text: string): Array<string | { href: string; text: string }> {
  const out: Array<string | { href: string; text: string }> = [];
  let last = 0;
  for (const m of text.matchAll(URL_PATTERN)) {
    let raw = m[0];
    // Keep a closing parenthesis that balances one inside the URL (Wikipedia-style links).
    const trail = raw.match(TRAILING)?.[0] ?? "";
    if (trail) {
      let cut = trail.length;
      if (
        trail.startsWith(")") &&
        (raw.match(/\(/g)?.length ?? 0) > (raw.slice(0, -trail.length).match(/\)/g)?.length ?? 0)
      ) {
        cut = trail.length - 1;
      }
      raw = raw.slice(0, raw.length - cut);
    }
    const start = m.index ?? 0;
    const href = safeHttpUrl(raw);
    if (!href) continue;
    if (start > last) out.push(text.slice(last, start));
    out.push({ href, text: raw });
    last = start + raw.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** A fragment showing `text` with its http(s) URLs as links. */
export function linkify(text: string): DocumentFragment {
  const frag = document.createDocumentFragment();
  for (const part of tokenize(text)) {
    if (typeof part === "string") {
      frag.appendChild(document.createTextNode(part));
      continue;
    }
    const a = document.createElement("a");
    a.href = part.href;
    a.textContent = part.text;
    a.rel = "noopener noreferrer";
    a.target = "_blank";
    frag.appendChild(a);
  }
  return frag;
}
