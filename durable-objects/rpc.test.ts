import { describe, expect, it } from "vitest";
import { ChatError } from "../protocol/errors.ts";
import { rpcCall, unwrap } from "./rpc.ts";

describe("typed results across RPC", () => {
  it("turns a ChatError into a failed result and unwrap throws the same code and message again", async () => {
    const result = await rpcCall(() => {
      throw new ChatError("group_full", "a group has at most 100 members");
    });
    expect(result).toEqual({ ok: false, code: "group_full", message: "a group has at most 100 members" });
    await expect(unwrap(result)).rejects.toMatchObject({ code: "group_full", status: 409 });
    await expect(unwrap(result)).rejects.toBeInstanceOf(ChatError);
  });

  it("passes values through, sync or async", async () => {
    expect(await unwrap(rpcCall(() => 42))).toBe(42);
    expect(await unwrap(rpcCall(async () => ({ seq: 7 })))).toEqual({ seq: 7 });
  });

  it("still throws an unexpected error, so it is logged and answered as internal", async () => {
    await expect(rpcCall(() => JSON.parse("{"))).rejects.toBeInstanceOf(SyntaxError);
  });
});
