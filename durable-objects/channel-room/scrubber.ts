/**
 * @module durable-objects/channel-room/scrubber
 * Takes a deleted message's text (and its edits') out of the sealed segments in R2 that hold
 * them (docs/protocol.md §6.10, docs/architecture.md "Deleting in the archive"). Segments are
 * immutable objects, so a delete that reaches one flags it (`segments.scrub`), and the sealer's
 * run rewrites it: the same key, the same entries and chain hashes, the deleted texts replaced by
 * `""` and each entry's `digest`, so the chain still checks from end to end
 * (storage/channel/audit.ts). Until the rewrite is recorded, reads drop those texts anyway
 * (storage/channel/entry-states.ts `resolve`), so no client ever gets them back.
 *
 * Each step is safe to repeat after a crash: the new object's checksum is recorded before the
 * put (a load accepts either object until the rewrite is recorded), the put overwrites, the
 * object is read back, then recorded; the flag clears only if no other delete raised it since.
 */
import { type Archive, checksumOf } from "../../storage/channel/archive.ts";
import { readSegment, SEGMENT_FORMAT, SegmentWriter } from "../../storage/channel/segment.ts";
import type { ChannelStore, SegmentRow } from "../../storage/channel/store.ts";

/** Rewrites one flagged segment without the texts deletes took; returns false if nothing changed. */
export async function scrubSegment(
  store: ChannelStore,
  archive: Archive,
  segment: SegmentRow,
): Promise<boolean> {
  const flag = segment.scrub;
  const { messages } = await archive.entries(segment);
  const entries = store.states.withoutDeleted(messages);
  if (!entries) {
    // Nothing left to take out (a repeat after a crash, or a flag raised for a text already gone).
    store.endScrub(segment.firstSeq, flag, {
      checksum: segment.checksum,
      bytes: segment.bytes,
      textChars: segment.textChars,
    });
    return false;
  }
  const textChars = entries.reduce((n, e) => n + e.text.length, 0);
  const writer = new SegmentWriter({
    format: SEGMENT_FORMAT,
    channel_id: entries[0]!.channel_id,
    first_seq: segment.firstSeq,
    last_seq: segment.lastSeq,
    count: entries.length,
    prev_hash: segment.prevHash,
    last_hash: segment.lastHash,
    text_chars: textChars,
    min_ts: segment.minTs,
    max_ts: segment.maxTs,
  });
  await writer.add(entries);
  const bytes = await writer.finish();
  const checksum = checksumOf(bytes);
  // The bytes must read back as the same log (but the texts): nothing else may change.
  const { messages: check } = await readSegment(bytes);
  if (check.length !== messages.length || check.some((m, i) => m.hash !== messages[i]!.hash))
    throw new Error(`${segment.key}: the rewrite does not hold the same entries`);
  store.beginScrub(segment.firstSeq, checksum);
  await archive.put(segment.key, bytes, checksum);
  await archive.verify(segment.key, checksum);
  store.endScrub(segment.firstSeq, flag, { checksum, bytes: bytes.length, textChars });
  archive.forget(segment.key);
  return true;
}
