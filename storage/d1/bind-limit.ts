/**
 * @module storage/d1/bind-limit
 * D1 binds at most 100 parameters per query (a query with more fails outright). A group has up
 * to 100 members, so an `IN (...)` list of members beside any other parameter would not fit:
 * every query that takes a list of ids splits it with {@link chunksFor}.
 */

/** The most parameters one D1 query may bind. */
export const MAX_BOUND_PARAMS = 100;

/**
 * `ids` in lists short enough for one query that binds each id `perId` times beside `fixed`
 * other parameters (count every `eq`, and every value a `set` writes).
 */
export function chunksFor<T>(ids: readonly T[], fixed: number, perId = 1): T[][] {
  const size = Math.floor((MAX_BOUND_PARAMS - fixed) / perId);
  if (size < 1) throw new Error(`a query with ${fixed} fixed parameters cannot take a list`);
  const chunks: T[][] = [];
  for (let i = 0; i < ids.length; i += size) chunks.push(ids.slice(i, i + size));
  return chunks;
}
