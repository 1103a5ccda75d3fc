/**
 * @module protocol/ids
 * Identifier shapes. Users, devices and messages are ULIDs (sortable, time-ordered, unique).
 * A 1:1 channel's id is derived from its two members so both sides name the same Durable
 * Object without a lookup; a group's id is a fresh ULID with a prefix.
 */
import { monotonicFactory } from "ulid";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CHANNEL = /^(dm_[0-9A-HJKMNP-TV-Z]{26}_[0-9A-HJKMNP-TV-Z]{26}|gr_[0-9A-HJKMNP-TV-Z]{26})$/;

/**
 * ulid asks its random source for one value per character, and the default source makes a
 * `crypto.getRandomValues` call for each: 16 calls per id, 3% of a message's CPU in a profile.
 * This source draws 256 bytes from the same CSPRNG at a time; a byte / 256 picks one of 32
 * characters uniformly.
 */
function bufferedRandom(): () => number {
  const bytes = new Uint8Array(256);
  let next = bytes.length;
  return () => {
    if (next === bytes.length) {
      crypto.getRandomValues(bytes);
      next = 0;
    }
    return (bytes[next++] ?? 0) / 256;
  };
}

/** A ULID generator that stays monotonic when called twice within one millisecond. */
export const newId: (seedTime?: number) => string = monotonicFactory(bufferedRandom());

export function isUlid(value: string): boolean {
  return ULID.test(value);
}

export function isChannelId(value: string): boolean {
  return CHANNEL.test(value);
}

export type ChannelKind = "dm" | "group";

export function channelKind(channelId: string): ChannelKind {
  return channelId.startsWith("dm_") ? "dm" : "group";
}

/** The one channel of a pair of users, whatever the order they are given in. */
export function dmChannelId(a: string, b: string): string {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  return `dm_${lo}_${hi}`;
}

export function newGroupId(): string {
  return `gr_${newId()}`;
}

/** The two members named by a 1:1 channel id. */
export function dmMembers(channelId: string): [string, string] {
  const [, a, b] = channelId.split("_");
  return [a!, b!];
}
