/**
 * @module client/chain-check
 * Checks that what this device receives of a channel's log chains (docs/protocol.md §2.6): each
 * entry's `hash` (a message, an edit, a delete, a reaction) is SHA-256 of the previous entry's
 * hash and this entry's digest (the digest it carries, for an entry whose text was deleted), and
 * each page says the hash of the entry before its first (`prev_hash`). A range is checked
 * against itself and against every hash this device already holds on either side of it, before
 * any of it is held: a message lost, reordered, altered or inserted by storage, transport or a
 * bug is a {@link ChainIntegrityError}, and the range is refused.
 *
 * What is held: per channel, the hash at each seq this device has a message for (with the
 * message's digest, to check a later page that ends just before it), and the anchors pages gave
 * for the entry before them (a member who joined later anchors at its join point this way). A
 * live message whose predecessor this device does not hold yet is taken on its own hash and
 * checked when the gap before it is filled. Pure: no I/O; SHA-256 is the synchronous one in
 * domain/sha256.ts, so a page is checked in the turn it arrives.
 */
import { chainLink, isChainHash, linkDigest, type Sha256 } from "../../domain/log-chain.ts";
import { sha256 } from "../../domain/sha256.ts";
import type { WireMessage } from "./types.ts";

/** A range of a channel's log that does not chain: refused, and reported. */
export class ChainIntegrityError extends Error {
  override readonly name = "ChainIntegrityError";
  readonly code = "integrity";
  readonly channel_id: string;
  /** The first seq that failed the check. */
  readonly seq: number;

  constructor(channelId: string, seq: number, why: string) {
    super(`the history of ${channelId} failed its integrity check at seq ${seq}: ${why}`);
    this.channel_id = channelId;
    this.seq = seq;
  }
}

interface Known {
  hash: string;
  /** The digest of the message held at this seq (absent for an anchor: a hash with no message). */
  digest?: Uint8Array;
}

export class ChainCheck {
  readonly #hash: Sha256;
  readonly #channels = new Map<string, Map<number, Known>>();

  constructor(hash: Sha256 = sha256) {
    this.#hash = hash;
  }

  /**
   * A page: contiguous `messages` and the hash before the first (for an empty page, the hash at
   * `emptyAt`, where the page starts after). Throws {@link ChainIntegrityError}; on success, its
   * hashes are held.
   */
  page(
    channelId: string,
    prevHash: string | null | undefined,
    messages: readonly WireMessage[],
    emptyAt?: number,
  ): void {
    const known = this.#known(channelId);
    const first = messages[0];
    if (!first) {
      if (prevHash == null || emptyAt === undefined) return;
      this.#anchor(channelId, known, emptyAt, prevHash);
      known.set(emptyAt, known.get(emptyAt) ?? { hash: prevHash });
      return;
    }
    if (prevHash != null) this.#anchor(channelId, known, first.seq - 1, prevHash);
    const digests = this.#check(channelId, known, prevHash ?? known.get(first.seq - 1)?.hash, messages);
    if (prevHash != null && !known.has(first.seq - 1)) known.set(first.seq - 1, { hash: prevHash });
    for (const [i, m] of messages.entries()) known.set(m.seq, { hash: m.hash, digest: digests[i]! });
  }

  /** One message on its own (a live `message`, or one's own message built from its ack). */
  one(m: WireMessage): void {
    this.page(m.channel_id, undefined, [m]);
  }

  /** Forgets a channel (the user left it, or signed out). */
  forget(channelId: string): void {
    this.#channels.delete(channelId);
  }

  clear(): void {
    this.#channels.clear();
  }

  #known(channelId: string): Map<number, Known> {
    let known = this.#channels.get(channelId);
    if (!known) {
      known = new Map();
      this.#channels.set(channelId, known);
    }
    return known;
  }

  #anchor(channelId: string, known: Map<number, Known>, seq: number, hash: string): void {
    if (!isChainHash(hash))
      throw new ChainIntegrityError(channelId, seq + 1, "the page's prev_hash is not a hash");
    const held = known.get(seq);
    if (held && held.hash !== hash)
      throw new ChainIntegrityError(channelId, seq + 1, "the page does not continue the history held here");
  }

  /** Checks a contiguous run against `prev` (if known) and against what is held; returns its digests. */
  #check(
    channelId: string,
    known: Map<number, Known>,
    prev: string | undefined,
    messages: readonly WireMessage[],
  ): Uint8Array[] {
    const digests: Uint8Array[] = [];
    let cur = prev;
    const start = messages[0]!.seq;
    for (const [i, m] of messages.entries()) {
      if (m.channel_id !== channelId || m.seq !== start + i)
        throw new ChainIntegrityError(channelId, m.seq, "the page is not a contiguous run of this channel");
      if (!isChainHash(m.hash))
        throw new ChainIntegrityError(channelId, m.seq, "the message carries no hash");
      const digest = linkDigest(this.#hash, channelId, m);
      if (!digest)
        throw new ChainIntegrityError(
          channelId,
          m.seq,
          "the entry carries both a text and a deleted one's digest",
        );
      if (cur !== undefined && chainLink(this.#hash, cur, digest) !== m.hash)
        throw new ChainIntegrityError(channelId, m.seq, "the message does not chain to the one before it");
      const held = known.get(m.seq);
      if (held && held.hash !== m.hash)
        throw new ChainIntegrityError(channelId, m.seq, "the message differs from the copy held here");
      digests.push(digest);
      cur = m.hash;
    }
    const last = messages.at(-1)!;
    const next = known.get(last.seq + 1);
    if (next?.digest && chainLink(this.#hash, last.hash, next.digest) !== next.hash)
      throw new ChainIntegrityError(
        channelId,
        last.seq,
        "the page does not chain to the message held after it",
      );
    return digests;
  }
}
