import { describe, expect, it } from "vitest";
import { rateLimited } from "../protocol/errors.ts";
import { refusedAgain, rememberRefusal } from "./refusal-memo.ts";

describe("the refusal memo", () => {
  it("refuses the same request of the same device again until the retry time, and nothing else", () => {
    rememberRefusal("dev1", "POST", "/v1/channels/c/messages", rateLimited("messages", 500), 1_000);
    const again = refusedAgain("dev1", "POST", "/v1/channels/c/messages", 1_200);
    expect(again).toMatchObject({ code: "rate_limited", retryAfterMs: 300 });
    expect(again?.message).toMatch(/too many messages/);
    expect(refusedAgain("dev2", "POST", "/v1/channels/c/messages", 1_200)).toBeNull();
    expect(refusedAgain("dev1", "POST", "/v1/channels/other/messages", 1_200)).toBeNull();
    expect(refusedAgain("dev1", "GET", "/v1/channels/c/messages", 1_200)).toBeNull();
    expect(refusedAgain("dev1", "POST", "/v1/channels/c/messages", 1_500)).toBeNull();
  });
});
