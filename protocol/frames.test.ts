import { describe, expect, it } from "vitest";
import { ChatError } from "./errors.ts";
import {
  errorFrame,
  MAX_FRAME_CHARS,
  MAX_MESSAGE_CODE_POINTS,
  MAX_PAGE_MESSAGES,
  type ParseResult,
  parseClientFrame,
} from "./frames.ts";
import { dmChannelId, newGroupId, newId } from "./ids.ts";

const DM = dmChannelId(newId(), newId());
const GROUP = newGroupId();

const send = { v: 1, type: "send", id: "f1", client_msg_id: "c1", text: "hello" };
const sync = { v: 1, type: "sync", id: "f2", after_seq: 0 };
const read = { v: 1, type: "read", id: "f3", seq: 5 };
const resume = {
  v: 1,
  type: "resume",
  id: "f4",
  cursors: [
    { channel_id: DM, seq: 3 },
    { channel_id: GROUP, seq: 0 },
  ],
};

const json = (frame: unknown): string => JSON.stringify(frame);

/** The refusal of a frame that should not parse; fails the test when it parsed. */
function refusal<T>(result: ParseResult<T>): { error: ChatError; ref?: string } {
  if (result.ok) throw new Error("expected a refusal, but the frame parsed");
  return result;
}

describe("parseClientFrame on the channel socket", () => {
  it("parses a send frame", () => {
    const result = parseClientFrame("channel", json(send));
    expect(result).toEqual({ ok: true, frame: send });
  });

  it("parses a send frame without an id", () => {
    const { id: _id, ...noId } = send;
    expect(parseClientFrame("channel", json(noId))).toEqual({ ok: true, frame: noId });
  });

  it("parses a sync frame, with and without a limit", () => {
    expect(parseClientFrame("channel", json(sync))).toEqual({ ok: true, frame: sync });
    const limited = { ...sync, after_seq: 42, limit: MAX_PAGE_MESSAGES };
    expect(parseClientFrame("channel", json(limited))).toEqual({ ok: true, frame: limited });
  });

  it("parses a read frame", () => {
    expect(parseClientFrame("channel", json(read))).toEqual({ ok: true, frame: read });
  });

  it("narrows the parsed frame by its type", () => {
    const result = parseClientFrame("channel", json(send));
    if (!result.ok) throw new Error("expected the frame to parse");
    if (result.frame.type !== "send") throw new Error("expected a send frame");
    expect(result.frame.client_msg_id).toBe("c1");
    expect(result.frame.text).toBe("hello");
  });

  it("accepts a send frame with 100,000 emoji (200,000 UTF-16 units) of text", () => {
    const text = "😀".repeat(MAX_MESSAGE_CODE_POINTS);
    const result = parseClientFrame("channel", json({ ...send, text }));
    expect(result.ok).toBe(true);
  });

  it("refuses a resume frame with unknown_frame_type, since resume belongs to the user socket", () => {
    const { error, ref } = refusal(parseClientFrame("channel", json(resume)));
    expect(error.code).toBe("unknown_frame_type");
    expect(ref).toBe("f4");
  });

  it("refuses an unknown type with unknown_frame_type and the frame's id as ref", () => {
    const { error, ref } = refusal(parseClientFrame("channel", json({ v: 1, type: "shout", id: "f9" })));
    expect(error.code).toBe("unknown_frame_type");
    expect(ref).toBe("f9");
  });

  it("refuses a frame without a type with unknown_frame_type", () => {
    expect(refusal(parseClientFrame("channel", json({ v: 1, id: "f9" }))).error.code).toBe(
      "unknown_frame_type",
    );
  });

  it("refuses a send frame whose text is not a string with bad_frame and the frame's id as ref", () => {
    const { error, ref } = refusal(parseClientFrame("channel", json({ ...send, id: "f7", text: 5 })));
    expect(error.code).toBe("bad_frame");
    expect(ref).toBe("f7");
    expect(error.message).toContain("text");
  });

  it("refuses a send frame with an empty or over-long client_msg_id with bad_frame", () => {
    expect(refusal(parseClientFrame("channel", json({ ...send, client_msg_id: "" }))).error.code).toBe(
      "bad_frame",
    );
    const long = "c".repeat(65);
    expect(refusal(parseClientFrame("channel", json({ ...send, client_msg_id: long }))).error.code).toBe(
      "bad_frame",
    );
  });

  it("leaves the length of the text to the domain rule: a send frame over the message limit parses", () => {
    const text = "😀".repeat(MAX_MESSAGE_CODE_POINTS + 1);
    const result = parseClientFrame("channel", json({ ...send, text }));
    expect(result.ok).toBe(true);
  });

  it("refuses a sync frame whose after_seq is a string, negative or fractional with bad_frame", () => {
    for (const after_seq of ["3", -1, 1.5]) {
      const { error, ref } = refusal(parseClientFrame("channel", json({ ...sync, after_seq })));
      expect(error.code).toBe("bad_frame");
      expect(ref).toBe("f2");
    }
  });

  it("refuses a sync frame whose limit is 0 or above the page size with bad_frame", () => {
    for (const limit of [0, MAX_PAGE_MESSAGES + 1]) {
      expect(refusal(parseClientFrame("channel", json({ ...sync, limit }))).error.code).toBe("bad_frame");
    }
  });

  it("refuses a read frame whose seq is missing or not a number with bad_frame and the frame's id as ref", () => {
    const { seq: _seq, ...noSeq } = read;
    for (const frame of [noSeq, { ...read, seq: "5" }]) {
      const { error, ref } = refusal(parseClientFrame("channel", json(frame)));
      expect(error.code).toBe("bad_frame");
      expect(ref).toBe("f3");
    }
  });

  it("gives no ref when the frame's id is not a string", () => {
    const { error, ref } = refusal(parseClientFrame("channel", json({ ...send, id: 7 })));
    expect(error.code).toBe("bad_frame");
    expect(ref).toBeUndefined();
  });

  it("refuses an id longer than 64 characters with bad_frame and no ref", () => {
    const { error, ref } = refusal(parseClientFrame("channel", json({ ...send, id: "i".repeat(65) })));
    expect(error.code).toBe("bad_frame");
    expect(ref).toBeUndefined();
  });

  it("refuses a frame without v with bad_frame", () => {
    const { v: _v, ...noVersion } = send;
    expect(refusal(parseClientFrame("channel", json(noVersion))).error.code).toBe("bad_frame");
  });

  it("refuses a frame with v: 2 with bad_frame", () => {
    expect(refusal(parseClientFrame("channel", json({ ...send, v: 2 }))).error.code).toBe("bad_frame");
  });

  it("refuses a frame with an extra unknown field with bad_frame (objects are strict)", () => {
    const { error, ref } = refusal(parseClientFrame("channel", json({ ...send, extra: true })));
    expect(error.code).toBe("bad_frame");
    expect(ref).toBe("f1");
  });

  it("refuses text that is not JSON with bad_frame", () => {
    for (const raw of ["{", "hello", "", '{"v":1,'])
      expect(refusal(parseClientFrame("channel", raw)).error.code).toBe("bad_frame");
  });

  it("refuses a binary frame with bad_frame", () => {
    const bytes = new TextEncoder().encode(json(send));
    const buffer = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(buffer).set(bytes);
    const { error } = refusal(parseClientFrame("channel", buffer));
    expect(error.code).toBe("bad_frame");
  });

  it("refuses a frame longer than MAX_FRAME_CHARS with frame_too_large", () => {
    const raw = json({ ...send, text: "a".repeat(MAX_FRAME_CHARS) });
    expect(raw.length).toBeGreaterThan(MAX_FRAME_CHARS);
    expect(refusal(parseClientFrame("channel", raw)).error.code).toBe("frame_too_large");
  });

  it("refuses a frame of MAX_FRAME_CHARS + 1 characters with frame_too_large even when it is not JSON", () => {
    expect(refusal(parseClientFrame("channel", "x".repeat(MAX_FRAME_CHARS + 1))).error.code).toBe(
      "frame_too_large",
    );
  });

  it("accepts a valid frame padded with whitespace to exactly MAX_FRAME_CHARS", () => {
    const compact = json(send);
    const raw = compact + " ".repeat(MAX_FRAME_CHARS - compact.length);
    expect(raw.length).toBe(MAX_FRAME_CHARS);
    expect(parseClientFrame("channel", raw)).toEqual({ ok: true, frame: send });
  });

  it("accepts a 100,000-emoji send frame written by an ASCII-only JSON encoder (each emoji as a \\uXXXX\\uXXXX escape)", () => {
    // Python's json.dumps (ensure_ascii=True by default) and many other encoders escape every
    // non-ASCII character; an astral one becomes 12 characters. The doc comment on
    // MAX_FRAME_CHARS promises that "a 100,000-code-point message JSON-escaped fits".
    const escapedText = "\\ud83d\\ude00".repeat(MAX_MESSAGE_CODE_POINTS);
    const raw = `{"v":1,"type":"send","id":"f1","client_msg_id":"c1","text":"${escapedText}"}`;
    const result = parseClientFrame("channel", raw);
    expect(result.ok ? "ok" : result.error.code).toBe("ok");
  });
});

describe("parseClientFrame on the user socket", () => {
  it("parses a resume frame", () => {
    expect(parseClientFrame("user", json(resume))).toEqual({ ok: true, frame: resume });
  });

  it("parses a resume frame with no cursors", () => {
    const empty = { v: 1, type: "resume", cursors: [] };
    expect(parseClientFrame("user", json(empty))).toEqual({ ok: true, frame: empty });
  });

  it("refuses channel-socket frames with unknown_frame_type", () => {
    for (const frame of [send, sync, read]) {
      const { error, ref } = refusal(parseClientFrame("user", json(frame)));
      expect(error.code).toBe("unknown_frame_type");
      expect(ref).toBe(frame.id);
    }
  });

  it("refuses a cursor whose channel id is not a channel id with bad_frame and the frame's id as ref", () => {
    for (const channel_id of ["gr_nope", "general", `dm_${newId()}`, newId()]) {
      const frame = { ...resume, cursors: [{ channel_id, seq: 1 }] };
      const { error, ref } = refusal(parseClientFrame("user", json(frame)));
      expect(error.code).toBe("bad_frame");
      expect(ref).toBe("f4");
    }
  });

  it("refuses a cursor with an extra field with bad_frame", () => {
    const frame = { ...resume, cursors: [{ channel_id: DM, seq: 1, extra: 1 }] };
    expect(refusal(parseClientFrame("user", json(frame))).error.code).toBe("bad_frame");
  });

  it("refuses cursors that are not an array with bad_frame", () => {
    const frame = { ...resume, cursors: { channel_id: DM, seq: 1 } };
    expect(refusal(parseClientFrame("user", json(frame))).error.code).toBe("bad_frame");
  });

  it("refuses a resume frame without v or with v: 2 with bad_frame", () => {
    const { v: _v, ...noVersion } = resume;
    expect(refusal(parseClientFrame("user", json(noVersion))).error.code).toBe("bad_frame");
    expect(refusal(parseClientFrame("user", json({ ...resume, v: 2 }))).error.code).toBe("bad_frame");
  });

  it("refuses a binary frame with bad_frame", () => {
    expect(refusal(parseClientFrame("user", new ArrayBuffer(8))).error.code).toBe("bad_frame");
  });

  it("refuses bad JSON with bad_frame", () => {
    expect(refusal(parseClientFrame("user", "{nope}")).error.code).toBe("bad_frame");
  });

  it("refuses a frame longer than MAX_FRAME_CHARS with frame_too_large", () => {
    expect(refusal(parseClientFrame("user", " ".repeat(MAX_FRAME_CHARS + 1))).error.code).toBe(
      "frame_too_large",
    );
  });
});

describe("errorFrame", () => {
  it("builds an error frame with the code, the message and the ref when given", () => {
    const err = new ChatError("message_empty", "a message needs some text");
    expect(errorFrame(err, "f1")).toEqual({
      v: 1,
      type: "error",
      code: "message_empty",
      message: "a message needs some text",
      ref: "f1",
    });
    expect(errorFrame(err)).not.toHaveProperty("ref");
  });
});
