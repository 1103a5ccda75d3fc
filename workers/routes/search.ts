/**
 * @module workers/routes/search
 * Full-text search (docs/protocol.md §8.11): in one conversation (`channelSearch`, mounted in the
 * channels router), and across all of a user's conversations (`search`). Each channel keeps the
 * index of its own log and answers for its members only (docs/architecture.md "Search"); the
 * search across conversations asks the user's channels in parallel, a bounded number at a time,
 * and merges their hits newest first.
 *
 * **Paging across channels** is exact with no shared clock: a page takes the `limit` newest of
 * every channel's newest hits, so a channel that gave none has no hit newer than the page's
 * last; the cursor keeps, for each channel that gave hits, the seq to continue below.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { parseQuery } from "../../domain/search-terms.ts";
import { unwrap } from "../../durable-objects/rpc.ts";
import {
  ChannelIdSchema,
  type ChannelSearchPage,
  ChannelSearchQuery,
  type SearchHit,
  type SearchPage,
  SearchQuery,
} from "../../protocol/api.ts";
import { ChatError } from "../../protocol/errors.ts";
import { isChannelId } from "../../protocol/ids.ts";
import { type AppEnv, channelStub, inboxStub } from "../context.ts";
import { requireAuth } from "../middleware/auth.ts";
import { limitPerUser } from "../middleware/limits.ts";
import { valid } from "../validate.ts";

/**
 * The conversations a search across them reads, most recently active first. Each is a call to a
 * Durable Object, so the number is bounded; the answer says how many were left out, and the
 * user searches an older conversation on its own (docs/protocol.md §8.11).
 */
export const MAX_SEARCH_CHANNELS = 200;
/** Channels asked at once. */
const PARALLEL = 16;

export const channelSearch = new Hono<AppEnv>();

channelSearch.get("/:id/search", limitPerUser("search"), valid("query", ChannelSearchQuery), async (c) => {
  const id = v.safeParse(ChannelIdSchema, c.req.param("id"));
  if (!id.success) throw new ChatError("not_found", "no such channel");
  const q = c.req.valid("query");
  return c.json(
    await unwrap(channelStub(c.env, id.output).search(c.get("userId"), q.q, q.before ?? null, q.limit)),
  );
});

export const search = new Hono<AppEnv>();

// Mounted at /v1: the middleware is the route's own, not the router's (which would cover all of /v1).
search.get("/search", requireAuth, limitPerUser("search"), valid("query", SearchQuery), async (c) => {
  const userId = c.get("userId");
  const q = c.req.valid("query");
  const bounds = readCursor(q.cursor);
  if (!parseQuery(q.q)) {
    return c.json({
      hits: [],
      next_cursor: null,
      partial_channels: [],
      channels_searched: 0,
      channels_skipped: 0,
    });
  }
  // Every channel of the list, even one whose head the user object has not heard of yet (a
  // channel's updates are folded for up to a second): its newest messages are searchable at once.
  const listed = await inboxStub(c.env, userId).listChannels();
  const channels = listed.slice(0, MAX_SEARCH_CHANNELS);
  const partial: string[] = [];
  const pages = await inParallel(channels, PARALLEL, async (ch): Promise<ChannelSearchPage | null> => {
    const page = await channelStub(c.env, ch.channel_id).search(
      userId,
      q.q,
      bounds.get(ch.channel_id) ?? null,
      q.limit,
    );
    if (!page.ok) {
      // Left meanwhile (not_a_member), or its archive unreadable right now: searched no further.
      if (page.code !== "not_a_member") partial.push(ch.channel_id);
      return null;
    }
    if (page.value.partial) partial.push(ch.channel_id);
    // RPC's structured clone keeps the tuples; its inferred type does not.
    return page.value as ChannelSearchPage;
  });
  const all: SearchHit[] = [];
  let more = false;
  for (const page of pages) {
    if (!page) continue;
    all.push(...page.hits);
    if (page.next_before !== null) more = true;
  }
  all.sort((a, b) => b.ts - a.ts || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0));
  const hits = all.slice(0, q.limit);
  if (all.length > q.limit) more = true;
  for (const h of hits) bounds.set(h.channel_id, Math.min(bounds.get(h.channel_id) ?? h.seq, h.seq));
  const page: SearchPage = {
    hits,
    next_cursor: more ? writeCursor(bounds) : null,
    partial_channels: partial,
    channels_searched: channels.length,
    channels_skipped: listed.length - channels.length,
  };
  return c.json(page);
});

/** The cursor: `<channel id>:<seq>` pairs joined by commas, base64url (opaque to clients). */
function writeCursor(bounds: Map<string, number>): string {
  const text = [...bounds].map(([id, seq]) => `${id}:${seq}`).join(",");
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function readCursor(cursor: string | undefined): Map<string, number> {
  const bounds = new Map<string, number>();
  if (cursor === undefined) return bounds;
  let text: string;
  try {
    text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    throw new ChatError("validation_failed", "cursor: not a cursor this search gave");
  }
  for (const pair of text.split(",")) {
    const [id, seq] = pair.split(":");
    const n = Number(seq);
    if (!id || !isChannelId(id) || !Number.isSafeInteger(n) || n < 1)
      throw new ChatError("validation_failed", "cursor: not a cursor this search gave");
    bounds.set(id, n);
  }
  return bounds;
}

/** Maps `items` with at most `width` calls in flight, keeping their order. */
async function inParallel<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(lanes);
  return out;
}
