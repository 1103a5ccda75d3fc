import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GENESIS_HASH, linkDigest, messageBytes, messageDigest, messageHash, toHex } from "./log-chain.ts";
import { sha256 } from "./sha256.ts";

const native = (data: Uint8Array) => new Uint8Array(createHash("sha256").update(data).digest());

/** The worked example of docs/protocol.md §2.6 (its values computed independently, in Python): keep the two in step. */
const CHANNEL = "dm_01JD8X3Q4K7M2N5P6R8S9T0VWX_01JD8X4B2C3D4E5F6G7H8J9K0M";
const ENTRY = {
  seq: 1,
  id: "01JD8Y0Z1A2B3C4D5E6F7G8H9J",
  sender_id: "01JD8X3Q4K7M2N5P6R8S9T0VWX",
  client_msg_id: "c-1",
  text: "hello Bob",
  ts: 1767225600123,
};

describe("the log's hash chain", () => {
  it("encodes each field as its UTF-8 length and bytes, in the documented order", () => {
    const bytes = messageBytes("gr_X", { ...ENTRY, text: "é😀" });
    const fields: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length; ) {
      const n = view.getUint32(at);
      fields.push(new TextDecoder().decode(bytes.subarray(at + 4, at + 4 + n)));
      at += 4 + n;
    }
    expect(fields).toEqual([
      "message",
      "gr_X",
      "1",
      ENTRY.id,
      ENTRY.sender_id,
      "c-1",
      "1767225600123",
      "é😀",
    ]);
    expect(view.getUint32(bytes.length - 4 - 6)).toBe(6); // é is 2 bytes, 😀 is 4
  });

  it("gives the worked example's digest and hash", () => {
    expect(toHex(messageDigest(sha256, CHANNEL, ENTRY))).toBe(
      "2996b9c22707fe66bbec8c86f30a81ee473078de95f8651748122fe249c68fd2",
    );
    expect(messageHash(sha256, CHANNEL, GENESIS_HASH, ENTRY)).toBe(
      "a74f1338ef343fbe1ed9055f3c36de5374e7a4d2f075bc3a552c6af8b0bec8ee",
    );
  });

  it("hashes the same with the native and the TypeScript SHA-256, lone surrogates included", () => {
    for (const text of ["hello", "\ud800 lone", "x".repeat(100_000), "🙂".repeat(1000)]) {
      const e = { ...ENTRY, text };
      expect(messageHash(native, CHANNEL, GENESIS_HASH, e)).toBe(
        messageHash(sha256, CHANNEL, GENESIS_HASH, e),
      );
    }
    // A lone surrogate is U+FFFD in the canonical bytes, as it is once stored and read back.
    expect(messageHash(sha256, CHANNEL, GENESIS_HASH, { ...ENTRY, text: "a\ud800" })).toBe(
      messageHash(sha256, CHANNEL, GENESIS_HASH, { ...ENTRY, text: "a\ufffd" }),
    );
  });

  it("changes with any field and with the hash before", () => {
    const base = messageHash(sha256, CHANNEL, GENESIS_HASH, ENTRY);
    for (const patch of [
      { seq: 2 },
      { id: "01JD8Y0Z1A2B3C4D5E6F7G8H9K" },
      { text: "hello Bob!" },
      { ts: 1 },
    ]) {
      expect(messageHash(sha256, CHANNEL, GENESIS_HASH, { ...ENTRY, ...patch })).not.toBe(base);
    }
    expect(messageHash(sha256, CHANNEL, base, ENTRY)).not.toBe(base);
    expect(messageHash(sha256, "gr_Y", GENESIS_HASH, ENTRY)).not.toBe(base);
  });
});

describe("entries besides messages", () => {
  const fieldsOf = (bytes: Uint8Array): string[] => {
    const out: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length; ) {
      const n = view.getUint32(at);
      out.push(new TextDecoder().decode(bytes.subarray(at + 4, at + 4 + n)));
      at += 4 + n;
    }
    return out;
  };
  const head = ["gr_X", "7", ENTRY.id, ENTRY.sender_id, "c-1", "1767225600123"];
  const base = { ...ENTRY, seq: 7 };

  it("writes each type's own fields after the seven common ones", () => {
    expect(fieldsOf(messageBytes("gr_X", base))).toEqual(["message", ...head, "hello Bob"]);
    expect(fieldsOf(messageBytes("gr_X", { ...base, reply_to: 3 }))).toEqual([
      "message",
      ...head,
      "hello Bob",
      "3",
    ]);
    expect(fieldsOf(messageBytes("gr_X", { ...base, type: "edit", target_seq: 3, text: "hi!" }))).toEqual([
      "edit",
      ...head,
      "3",
      "hi!",
    ]);
    expect(fieldsOf(messageBytes("gr_X", { ...base, type: "delete", target_seq: 3, text: "" }))).toEqual([
      "delete",
      ...head,
      "3",
    ]);
    expect(
      fieldsOf(messageBytes("gr_X", { ...base, type: "reaction", target_seq: 3, text: "", emoji: "👍" })),
    ).toEqual(["reaction", ...head, "3", "👍"]);
  });

  it("keeps a message that is not a reply hashed exactly as before the other types existed", () => {
    expect(messageHash(sha256, CHANNEL, GENESIS_HASH, ENTRY)).toBe(
      "a74f1338ef343fbe1ed9055f3c36de5374e7a4d2f075bc3a552c6af8b0bec8ee",
    );
  });

  it("links a deleted entry from the digest it carries, and nothing that carries both a digest and a text", () => {
    const digest = messageDigest(sha256, CHANNEL, ENTRY);
    const redacted = { ...ENTRY, text: "", digest: toHex(digest) };
    expect(toHex(linkDigest(sha256, CHANNEL, redacted)!)).toBe(toHex(digest));
    expect(linkDigest(sha256, CHANNEL, { ...ENTRY, digest: toHex(digest) })).toBeNull();
    expect(linkDigest(sha256, CHANNEL, { ...ENTRY, text: "", digest: "zz" })).toBeNull();
  });

  it("tells a reaction from its removal, and a reply from the same text that is not one", () => {
    const reaction = { ...base, type: "reaction" as const, target_seq: 3, text: "", emoji: "👍" };
    expect(messageHash(sha256, CHANNEL, GENESIS_HASH, reaction)).not.toBe(
      messageHash(sha256, CHANNEL, GENESIS_HASH, { ...reaction, emoji: "" }),
    );
    expect(messageHash(sha256, CHANNEL, GENESIS_HASH, { ...base, reply_to: 3 })).not.toBe(
      messageHash(sha256, CHANNEL, GENESIS_HASH, base),
    );
  });
});
