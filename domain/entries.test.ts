import { describe, expect, it } from "vitest";
import { ChatError } from "../protocol/errors.ts";
import { checkTarget, checkWrite, type WriterView } from "./entries.ts";

const alice: WriterView = { userId: "A", role: "member", joinedSeq: 0 };
const owner: WriterView = { userId: "O", role: "owner", joinedSeq: 0 };
const late: WriterView = { userId: "L", role: "member", joinedSeq: 10 };
const msg = (seq: number, sender = "A") => ({ seq, sender_id: sender });

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof ChatError ? err.code : "thrown";
  }
};

describe("the target of an edit, delete, reaction or reply", () => {
  it("is a message this member can read, at or below the head, not deleted", () => {
    expect(code(() => checkTarget(msg(5), alice, 9, false))).toBeUndefined();
    expect(code(() => checkTarget(null, alice, 9, false))).toBe("not_found");
    expect(code(() => checkTarget(msg(12), alice, 9, false))).toBe("not_found"); // beyond the head
    expect(code(() => checkTarget({ ...msg(5), type: "reaction" }, alice, 9, false))).toBe("not_found");
    expect(code(() => checkTarget(msg(5), alice, 9, true))).toBe("not_found"); // deleted
  });

  it("answers a member who joined later as if nothing were there before the join point", () => {
    expect(code(() => checkTarget(msg(10), late, 20, false))).toBe("not_found");
    expect(code(() => checkTarget(msg(11), late, 20, false))).toBeUndefined();
  });
});

describe("who may write it", () => {
  it("lets only the sender edit, in any channel and whatever the role", () => {
    expect(code(() => checkWrite("edit", msg(5, "A"), alice, "group"))).toBeUndefined();
    expect(code(() => checkWrite("edit", msg(5, "B"), alice, "dm"))).toBe("forbidden");
    expect(code(() => checkWrite("edit", msg(5, "B"), owner, "group"))).toBe("forbidden");
  });

  it("lets the sender delete, and a group's owner delete any message, never an admin or a 1:1 peer", () => {
    expect(code(() => checkWrite("delete", msg(5, "A"), alice, "dm"))).toBeUndefined();
    expect(code(() => checkWrite("delete", msg(5, "B"), alice, "group"))).toBe("forbidden");
    expect(code(() => checkWrite("delete", msg(5, "B"), owner, "group"))).toBeUndefined();
    expect(code(() => checkWrite("delete", msg(5, "B"), { ...owner, role: "admin" }, "group"))).toBe(
      "forbidden",
    );
    expect(code(() => checkWrite("delete", msg(5, "B"), owner, "dm"))).toBe("forbidden");
  });

  it("lets any member react to and reply to any message", () => {
    expect(code(() => checkWrite("reaction", msg(5, "B"), alice, "group"))).toBeUndefined();
    expect(code(() => checkWrite("message", msg(5, "B"), alice, "group"))).toBeUndefined();
  });
});
