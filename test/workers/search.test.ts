/**
 * Search through the real Worker (docs/protocol.md §8.11), with this tier's small archive
 * (segments of 50 messages, 100 kept hot): Korean one- and two-syllable words and words with
 * particles, hot and archived messages, the newest not yet indexed, paging in one conversation
 * and across several, and never a message the reader may not see.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChannelRoom } from "../../durable-objects/channel-room/channel-room.ts";
import type { ChannelSearchPage, SearchHit, SearchPage } from "../../protocol/api.ts";
import { api, befriend, connect, createGroup, groupOfTwo, signup, type TestUser } from "../fixtures/api.ts";
import { poll } from "../fixtures/poll.ts";

const room = (channelId: string) => env.CHANNEL_ROOM.getByName(channelId);

/** Posts texts in order over a channel socket, 25 acknowledged at a time. */
async function post(user: TestUser, channelId: string, texts: string[]): Promise<void> {
  const chan = await connect(user, channelId);
  const base = chan.of("ack").length;
  for (let start = 0; start < texts.length; start += 25) {
    const end = Math.min(texts.length, start + 25);
    for (let i = start; i < end; i++)
      chan.send({ v: 1, type: "send", client_msg_id: `${channelId}-${i}-${Math.random()}`, text: texts[i]! });
    await chan.until((s) => s.of("ack").length === base + end, 15_000, `acks up to ${end}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  chan.close();
}

async function searchIn(user: TestUser, channelId: string, q: string, extra = "") {
  const res = await api<ChannelSearchPage>(
    "GET",
    `/v1/channels/${channelId}/search?q=${encodeURIComponent(q)}${extra}`,
    { token: user.token },
  );
  expect(res.status).toBe(200);
  return res.body;
}

async function searchAll(user: TestUser, q: string, extra = "") {
  const res = await api<SearchPage>("GET", `/v1/search?q=${encodeURIComponent(q)}${extra}`, {
    token: user.token,
  });
  expect(res.status).toBe(200);
  return res.body;
}

const texts = (hits: SearchHit[]) => hits.map((h) => h.text);

/** Indexes everything now (the indexer otherwise runs a second after the last message). */
async function indexNow(channelId: string): Promise<void> {
  expect(await room(channelId).searchIndexBehind(true)).toBe(0);
}

describe("search", () => {
  it("finds Korean one- and two-syllable words, words with particles, and compounds, newest first", async () => {
    const { a, b, group } = await groupOfTwo();
    const corpus = [
      "학교에서 밥을 먹었다", // school+at, rice+object
      "사과를 샀어요", // apple+object
      "밥", // a one-syllable message
      "대학교 도서관에 갔다", // university: 학교 inside a compound
      "오늘 날씨가 좋네요",
      "hello café world",
    ];
    await post(a, group.channel_id, corpus);
    await indexNow(group.channel_id);
    expect(texts((await searchIn(b, group.channel_id, "밥")).hits)).toEqual(["밥", "학교에서 밥을 먹었다"]);
    expect(texts((await searchIn(b, group.channel_id, "학교")).hits)).toEqual([
      "대학교 도서관에 갔다",
      "학교에서 밥을 먹었다",
    ]);
    expect(texts((await searchIn(b, group.channel_id, "사과")).hits)).toEqual(["사과를 샀어요"]);
    // A word with its particle, and three syllables confirmed as they stand (not just their bigrams).
    expect(texts((await searchIn(b, group.channel_id, "학교에서")).hits)).toEqual(["학교에서 밥을 먹었다"]);
    expect((await searchIn(b, group.channel_id, "에서밥")).hits).toEqual([]);
    expect(texts((await searchIn(b, group.channel_id, "날씨")).hits)).toEqual(["오늘 날씨가 좋네요"]);
    // Latin words by prefix, diacritics folded; every word must match.
    expect(texts((await searchIn(b, group.channel_id, "cafe")).hits)).toEqual(["hello café world"]);
    expect(texts((await searchIn(b, group.channel_id, "hel wor")).hits)).toEqual(["hello café world"]);
    expect((await searchIn(b, group.channel_id, "hello 밥")).hits).toEqual([]);
    // The hit is highlighted where it matched.
    const [hit] = (await searchIn(b, group.channel_id, "밥을")).hits;
    expect(hit!.text.slice(...hit!.highlights[0]!)).toBe("밥을");
  });

  it("finds the newest messages before the index takes them, and the same after", async () => {
    const { a, b, group } = await groupOfTwo();
    await post(a, group.channel_id, ["첫 번째 메시지", "두 번째 메시지"]);
    expect(await room(group.channel_id).searchIndexBehind()).toBe(2);
    const before = texts((await searchIn(b, group.channel_id, "메시지")).hits);
    expect(before).toEqual(["두 번째 메시지", "첫 번째 메시지"]);
    await indexNow(group.channel_id);
    expect(texts((await searchIn(b, group.channel_id, "메시지")).hits)).toEqual(before);
  });

  it("finds hot and archived messages alike, paged newest first", async () => {
    const { a, b, group } = await groupOfTwo();
    const corpus = Array.from({ length: 260 }, (_, i) =>
      [7, 60, 130, 255].includes(i + 1) ? `바늘 ${i + 1}` : `건초 ${i + 1}`,
    );
    await post(a, group.channel_id, corpus);
    // Sealed to R2 and gone from SQLite below the hot window.
    await poll(
      "archived",
      async () => (await room(group.channel_id).archiveStats()).first_hot_seq > 130,
      15_000,
    );
    await indexNow(group.channel_id);
    const first = await searchIn(b, group.channel_id, "바늘", "&limit=2");
    expect(first.hits.map((h) => h.seq)).toEqual([255, 130]);
    expect(first.next_before).toBe(130);
    const second = await searchIn(b, group.channel_id, "바늘", `&limit=2&before=${first.next_before}`);
    expect(second.hits.map((h) => h.seq)).toEqual([60, 7]);
    const third = await searchIn(b, group.channel_id, "바늘", `&limit=2&before=${second.next_before ?? 1}`);
    expect(third.hits).toEqual([]);
    expect(third.next_before).toBeNull();
  });

  it("indexes a history older than the index, from R2", async () => {
    const { a, b, group } = await groupOfTwo();
    await post(
      a,
      group.channel_id,
      Array.from({ length: 200 }, (_, i) => (i === 9 ? "오래된 비밀" : `잡담 ${i}`)),
    );
    await poll(
      "archived",
      async () => (await room(group.channel_id).archiveStats()).first_hot_seq > 10,
      15_000,
    );
    // As a channel that predates the index: nothing indexed.
    await runInDurableObject(room(group.channel_id), (_r: ChannelRoom, state) => {
      state.storage.sql.exec("DELETE FROM search");
      state.storage.sql.exec("UPDATE search_state SET indexed_through = 0");
    });
    // A new instance reads that state: the running one may have cached its mark already (the
    // indexer runs a second after the first message, often before the archive settles).
    await evictDurableObject(room(group.channel_id));
    await runInDurableObject(room(group.channel_id), async (r: ChannelRoom) => {
      expect(await r.searchIndexBehind(true)).toBe(0);
    });
    expect((await searchIn(b, group.channel_id, "비밀")).hits.map((h) => h.seq)).toEqual([10]);
  });

  it("searches across conversations, newest first, each hit once across pages", async () => {
    const me = await signup("me");
    const others = [await signup("o1"), await signup("o2"), await signup("o3")];
    const groups = [];
    for (const o of others) groups.push(await createGroup(me, [o]));
    // Interleaved in time: the newest-first order crosses channels.
    for (let round = 0; round < 4; round++)
      for (const g of groups)
        await post(me, g.channel_id, [`여행 ${round} ${g.channel_id.slice(-4)}`, "다른 얘기"]);
    const seen: SearchHit[] = [];
    let cursor: string | null = null;
    do {
      const page: SearchPage = await searchAll(me, "여행", `&limit=5${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.hits);
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(12);
    expect(new Set(seen.map((h) => `${h.channel_id}:${h.seq}`)).size).toBe(12);
    const order = seen.map((h) => h.ts);
    expect(order).toEqual([...order].sort((x, y) => y - x));
  });

  it("never returns a message of a channel the reader is not in, nor one from before they joined", async () => {
    const { a, b, group } = await groupOfTwo();
    const secret = await createGroup(a, [await signup("c")], "secret");
    await post(a, group.channel_id, ["비밀번호는 1234"]);
    await post(a, secret.channel_id, ["비밀 회의"]);
    const late = await signup("late");
    await befriend(a, late);
    await api("POST", `/v1/groups/${group.channel_id}/members`, {
      token: a.token,
      body: { user_ids: [late.id] },
    });
    await post(a, group.channel_id, ["비밀 아님"]);
    await poll(
      "listed",
      async () => (await api("GET", "/v1/channels", { token: late.token })).body.channels.length === 1,
    );

    expect(texts((await searchAll(b, "비밀")).hits)).toEqual(["비밀 아님", "비밀번호는 1234"]);
    expect(texts((await searchAll(late, "비밀")).hits)).toEqual(["비밀 아님"]);
    expect(texts((await searchIn(late, group.channel_id, "비밀")).hits)).toEqual(["비밀 아님"]);
    const stranger = await api("GET", `/v1/channels/${secret.channel_id}/search?q=비밀`, { token: b.token });
    expect(stranger.status).toBe(403);
  });
});
