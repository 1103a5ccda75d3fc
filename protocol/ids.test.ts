import { describe, expect, it } from "vitest";
import { channelKind, dmChannelId, dmMembers, isChannelId, isUlid, newGroupId, newId } from "./ids.ts";

describe("dmChannelId", () => {
  it("names the same channel whatever order the two users are given in", () => {
    const a = newId();
    const b = newId();
    expect(dmChannelId(a, b)).toBe(dmChannelId(b, a));
  });

  it("gives a channel id that isChannelId accepts and channelKind calls a dm", () => {
    const id = dmChannelId(newId(), newId());
    expect(isChannelId(id)).toBe(true);
    expect(channelKind(id)).toBe("dm");
  });

  it("gives different channels for different pairs", () => {
    const a = newId();
    expect(dmChannelId(a, newId())).not.toBe(dmChannelId(a, newId()));
  });
});

describe("dmMembers", () => {
  it("recovers the two users a dm channel id was made from", () => {
    const a = newId();
    const b = newId();
    const members = dmMembers(dmChannelId(b, a));
    expect([...members].sort()).toEqual([a, b].sort());
    expect(dmChannelId(...members)).toBe(dmChannelId(a, b));
  });
});

describe("newGroupId", () => {
  it("gives a channel id of kind group", () => {
    const id = newGroupId();
    expect(id.startsWith("gr_")).toBe(true);
    expect(isChannelId(id)).toBe(true);
    expect(channelKind(id)).toBe("group");
  });

  it("gives a fresh id on each call", () => {
    expect(newGroupId()).not.toBe(newGroupId());
  });
});

describe("isChannelId", () => {
  it("refuses strings that are not channel ids", () => {
    const u = newId();
    for (const s of [
      "",
      u,
      `gr_${u.toLowerCase()}`,
      `gr_${u}x`,
      `dm_${u}`,
      `dm_${u}_`,
      `xx_${u}`,
      ` gr_${u}`,
    ]) {
      expect(isChannelId(s)).toBe(false);
    }
  });
});

describe("newId", () => {
  it("gives ULIDs", () => {
    expect(isUlid(newId())).toBe(true);
    expect(isUlid("not-a-ulid")).toBe(false);
  });

  it("is strictly increasing over 1000 calls in a row", () => {
    const ids = Array.from({ length: 1000 }, () => newId());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
  });
});
