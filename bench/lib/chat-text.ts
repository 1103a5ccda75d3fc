/**
 * Chat-like message texts for the search and export benchmarks (bench/content.mjs,
 * bench/search-index.bench.ts), deterministic per index: about 100 characters of common English
 * words, one message in ten a short Korean sentence, and two rare words at known rates ("zebra"
 * in 1 of 10,000 messages, the one-syllable 꽃 in 1 of 1,000), so that a query's selectivity is
 * known.
 */
const WORDS =
  "the a to and of you it is that for on in this we be can what do have with at are just so not my me but if how about when was get will all see now think one out time need here up like good know back still want".split(
    " ",
  );
const KOREAN =
  "내일 학교에서 만나요 점심 먹었어요 사진 보내줄게 집에 가는 중이야 주말에 뭐 해 회의 끝나고 연락할게 오늘 날씨 좋다".split(
    " ",
  );

export function chatText(i: number): string {
  let x = (i + 1) * 2654435761;
  const next = () => {
    x = (x ^ (x >>> 13)) * 1274126177;
    x = (x ^ (x >>> 16)) >>> 0;
    return x;
  };
  const korean = i % 10 === 0;
  const words = korean ? KOREAN : WORDS;
  let text = "";
  while (text.length < (korean ? 30 : 95)) text += `${words[next() % words.length]} `;
  if (i % 10_000 === 5_000) text += "zebra ";
  if (i % 1_000 === 500) text += "꽃 ";
  return `${text.trim()} ${i}`;
}

/** The benchmark's queries: a label and the text typed. */
export const QUERIES: [label: string, q: string][] = [
  ["rare word (1 in 10,000)", "zebra"],
  ["common word", "time"],
  ["Korean, two syllables", "학교"],
  ["Korean, one syllable (1 in 1,000)", "꽃"],
];
