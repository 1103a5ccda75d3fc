/**
 * What a channel's search index costs (docs/architecture.md "Search"), measured inside a real
 * Durable Object in workerd: 100,000 chat-like messages (benc./lib/chat-text.ts) indexed in
 * batches of 500, one transaction each, as the indexer does, with the index's own statements
 * (storage/channel/search-index.ts); then each of the benchmark's queries run as a first page
 * asks it. Figures in the units SQLite in Durable Objects is billed by (rows read and written)
 * and in bytes of the database, plus wall time per batch and per query, each timed from the
 * test side across one `runInDurableObject` call (workerd may hold the clock still inside
 * synchronous code).
 * Run: npm run bench:search-index
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { indexTerms, parseQuery } from "../domain/search-terms.ts";
import { chatText, QUERIES } from "./lib/chat-text.ts";

const N = 100_000;
const BATCH = 500;
const QUERY_REPS = 50;

it("measures the search index per message and per query", async () => {
  const stub = env.CHANNEL_ROOM.getByName("search-index-bench");
  // The index's own tables (migration 0006), in an object that was never created as a channel.
  const before = await runInDurableObject(stub, (_i, state) => {
    const sql = state.storage.sql;
    sql.exec(
      "CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(terms, content='', contentless_delete=1, detail=none, tokenize='unicode61 remove_diacritics 2')",
    );
    return sql.databaseSize;
  });
  let written = 0;
  let termChars = 0;
  const batchMs: number[] = [];
  for (let from = 0; from < N; from += BATCH) {
    const t0 = performance.now();
    const w = await runInDurableObject(stub, (_i, state) => {
      let rows = 0;
      let chars = 0;
      state.storage.transactionSync(() => {
        for (let i = from; i < from + BATCH; i++) {
          const terms = indexTerms(chatText(i));
          chars += terms.length;
          rows += state.storage.sql.exec("DELETE FROM search WHERE rowid = ?", i + 1).rowsWritten;
          rows += state.storage.sql.exec(
            "INSERT INTO search (rowid, terms) VALUES (?, ?)",
            i + 1,
            terms,
          ).rowsWritten;
        }
      });
      return { rows, chars };
    });
    batchMs.push(performance.now() - t0);
    written += w.rows;
    termChars += w.chars;
  }
  const after = await runInDurableObject(stub, (_i, state) => state.storage.sql.databaseSize);
  const empty = await timedCall(stub, () => 0);

  const queries: Record<string, unknown> = {};
  for (const [label, q] of QUERIES) {
    const match = parseQuery(q)!.match;
    const times: number[] = [];
    let rowsRead = 0;
    let found = 0;
    for (let r = 0; r < QUERY_REPS; r++) {
      const t0 = performance.now();
      const res = await runInDurableObject(stub, (_i, state) => {
        // The first page's ask (search.ts): the newest 30 candidates below the top.
        const cursor = state.storage.sql.exec(
          "SELECT rowid AS seq FROM search WHERE search MATCH ? AND rowid > ? AND rowid < ? ORDER BY rowid DESC LIMIT ?",
          match,
          0,
          Number.MAX_SAFE_INTEGER,
          30,
        );
        const seqs = cursor.toArray().length;
        return { seqs, rowsRead: cursor.rowsRead };
      });
      times.push(performance.now() - t0);
      rowsRead = res.rowsRead;
      found = res.seqs;
    }
    times.sort((a, b) => a - b);
    queries[label] = {
      q,
      candidates: found,
      rows_read: rowsRead,
      ms_p50: round(times[Math.floor(times.length / 2)]! - empty),
      ms_max: round(times.at(-1)! - empty),
    };
  }
  batchMs.sort((a, b) => a - b);
  const result = {
    messages: N,
    index_bytes_per_message: round((after - before) / N),
    term_chars_per_message: round(termChars / N),
    rows_written_per_message: round(written / N),
    batch_of_500_ms_p50: round(batchMs[Math.floor(batchMs.length / 2)]! - empty),
    empty_call_ms: round(empty),
    queries,
  };
  console.log(`RESULT_JSON ${JSON.stringify(result)}`);
  expect(after).toBeGreaterThan(before);
});

async function timedCall(stub: DurableObjectStub, fn: () => number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await runInDurableObject(stub, fn);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[10]!;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
