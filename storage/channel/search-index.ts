/**
 * @module storage/channel/search-index
 * The queries of a channel's full-text index (migration 0006): a contentless FTS5 table whose
 * rowid is a message's seq and whose one column holds its terms (domain/search-terms.ts), and
 * how far the log is indexed. Contentless: the index holds terms, never the text, which stays
 * in `messages` and in the R2 segments; a hit is read back through the history reader.
 */

type Row = Record<string, SqlStorageValue>;

export class SearchIndex {
  readonly #sql: SqlStorage;
  #through: number | undefined;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Every message up to this seq is indexed (or deleted). */
  indexedThrough(): number {
    this.#through ??= this.#sql.exec<Row>("SELECT indexed_through AS t FROM search_state WHERE id = 1").one()
      .t as number;
    return this.#through;
  }

  /** Indexes messages (ascending, right after `indexedThrough`) and moves the mark past them. */
  add(entries: readonly { seq: number; terms: string }[]): void {
    for (const e of entries) {
      // A repeat after a crash between the two statements below cannot happen (one event, one
      // transaction), but an entry replaced by an edit may already be here: replace it.
      this.#sql.exec("DELETE FROM search WHERE rowid = ?", e.seq);
      if (e.terms !== "") this.#sql.exec("INSERT INTO search (rowid, terms) VALUES (?, ?)", e.seq, e.terms);
    }
    const last = entries.at(-1)?.seq;
    if (last !== undefined && last > this.indexedThrough()) {
      this.#sql.exec("UPDATE search_state SET indexed_through = ? WHERE id = 1", last);
      this.#through = last;
    }
  }

  /** Replaces an indexed message's terms (an edit), or removes them (a delete: `terms` empty). */
  replace(seq: number, terms: string): void {
    if (seq > this.indexedThrough()) return; // indexed with its current text when its turn comes
    this.#sql.exec("DELETE FROM search WHERE rowid = ?", seq);
    if (terms !== "") this.#sql.exec("INSERT INTO search (rowid, terms) VALUES (?, ?)", seq, terms);
  }

  /** Seqs matching `match` with `above < seq < below`, newest first. */
  match(match: string, above: number, below: number, limit: number): number[] {
    return this.#sql
      .exec<Row>(
        "SELECT rowid AS seq FROM search WHERE search MATCH ? AND rowid > ? AND rowid < ? ORDER BY rowid DESC LIMIT ?",
        match,
        above,
        below,
        limit,
      )
      .toArray()
      .map((r) => r.seq as number);
  }
}
