/**
 * @module storage/channel/audit
 * Rebuilds a channel's sealed history from its R2 segments alone and checks it against the hash
 * chain (docs/architecture.md "Auditing the archive"): the segments must cover seq 1 to their
 * last seq without a gap or an overlap, every entry's digest and link are recomputed from its
 * bytes (from the genesis hash; a stored hash is trusted only to go on checking past an entry
 * already reported), each segment's header must agree
 * with its entries, and every hash a client vouches for (`expect`) must be the one rebuilt at
 * its seq. An entry whose text was deleted links from the digest it keeps (docs/protocol.md
 * §2.6, "Deleting"): the chain is checked through it, not the text that was there. Used by scripts/audit-archive.mjs; the bucket is anything with R2's `list` and `get`.
 */
import { chainLink, GENESIS_HASH, linkDigest, type Sha256 } from "../../domain/log-chain.ts";
import { sha256 as typescriptSha256 } from "../../domain/sha256.ts";
import { parseSegmentKey, readSegment, segmentPrefix } from "./segment.ts";

export interface AuditBucket {
  list(options: { prefix: string; cursor?: string }): Promise<{
    objects: { key: string }[];
    truncated: boolean;
    cursor?: string;
  }>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
}

export interface AuditReport {
  channel_id: string;
  segments: number;
  /** Entries rebuilt and checked, seq 1 to `sealed_through`. */
  entries: number;
  /** Of those, entries whose text was deleted: checked from the digest they keep. */
  redacted: number;
  sealed_through: number;
  /** The chain hash after the last sealed entry: compare it with one a client or the channel holds. */
  last_hash: string;
  /** Hashes given with `expect` that matched. */
  expectations_met: number;
  /** Every way the archive fails the check; empty when it passes. */
  problems: string[];
}

export async function auditChannel(
  bucket: AuditBucket,
  channelId: string,
  options: { expect?: { seq: number; hash: string }[]; sha256?: Sha256 } = {},
): Promise<AuditReport> {
  const hash = options.sha256 ?? typescriptSha256;
  const problems: string[] = [];
  const expected = new Map((options.expect ?? []).map((e) => [e.seq, e.hash]));
  let met = 0;

  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: segmentPrefix(channelId), ...(cursor && { cursor }) });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const ranges = keys
    .map((key) => ({ key, range: parseSegmentKey(key) }))
    .filter((k) => {
      if (!k.range || k.range.channelId !== channelId) problems.push(`${k.key}: not a segment key`);
      return k.range !== null;
    })
    .sort((x, y) => x.range!.firstSeq - y.range!.firstSeq);

  let prev = GENESIS_HASH;
  let next = 1;
  let entries = 0;
  let redacted = 0;
  for (const { key, range } of ranges) {
    const { firstSeq, lastSeq } = range!;
    if (firstSeq !== next) {
      problems.push(
        firstSeq < next
          ? `${key}: overlaps the segments before it (they reach ${next - 1})`
          : `${key}: seqs ${next}..${firstSeq - 1} are in no segment`,
      );
      if (firstSeq < next) continue;
    }
    const object = await bucket.get(key);
    if (!object) {
      problems.push(`${key}: listed but missing`);
      break;
    }
    let segment: Awaited<ReturnType<typeof readSegment>>;
    try {
      segment = await readSegment(new Uint8Array(await object.arrayBuffer()));
    } catch (err) {
      problems.push(`${key}: unreadable (${(err as Error).message})`);
      break;
    }
    const { header, messages } = segment;
    if (header.channel_id !== channelId || header.first_seq !== firstSeq || header.last_seq !== lastSeq)
      problems.push(`${key}: its header names another channel or range`);
    if (header.prev_hash !== prev)
      problems.push(`${key}: its prev_hash does not continue the chain before it`);
    for (const m of messages) {
      // A deleted text left the segment with its entry's digest: the link is checked from that.
      const digest = linkDigest(hash, channelId, m);
      if (!digest) problems.push(`${key}: seq ${m.seq} carries both a text and a deleted text's digest`);
      if (m.digest !== undefined) redacted++;
      let rebuilt = digest ? chainLink(hash, prev, digest) : "";
      if (rebuilt !== m.hash) {
        problems.push(`${key}: seq ${m.seq} does not match its stored hash`);
        // Go on from the stored hash, so the entries after it are checked on their own.
        rebuilt = m.hash;
      }
      const vouched = expected.get(m.seq);
      if (vouched !== undefined) {
        if (vouched === rebuilt) met++;
        else problems.push(`seq ${m.seq}: the archive rebuilds ${rebuilt}, not the expected ${vouched}`);
        expected.delete(m.seq);
      }
      prev = rebuilt;
      entries++;
    }
    if (header.last_hash !== prev)
      problems.push(`${key}: its last_hash is not the chain's after its entries`);
    next = lastSeq + 1;
  }
  for (const [seq] of expected) {
    if (seq === 0 && expected.get(0) === GENESIS_HASH) met++;
    else problems.push(`seq ${seq}: not sealed (the archive reaches ${next - 1}); only the channel holds it`);
  }
  return {
    channel_id: channelId,
    segments: ranges.length,
    entries,
    redacted,
    sealed_through: next - 1,
    last_hash: prev,
    expectations_met: met,
    problems,
  };
}
