import { describe, expect, it } from "vitest";
import { clientAddress } from "./client-address.ts";

describe("client address", () => {
  it("is the edge's CF-Connecting-IP, or 'local' when there is none", () => {
    expect(clientAddress("203.0.113.7")).toBe("203.0.113.7");
    expect(clientAddress(undefined)).toBe("local");
    expect(clientAddress("  ")).toBe("local");
  });

  it("counts an IPv6 address as its /64, however it is written", () => {
    const a = clientAddress("2001:db8:85a3:0:1:2:3:4");
    expect(a).toBe("2001:db8:85a3:0::/64");
    expect(clientAddress("2001:0db8:85a3::99")).toBe(a);
    expect(clientAddress("2001:db8:85a3:0000:ffff::1")).toBe(a);
    expect(clientAddress("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientAddress("2001:db8:85a3:1::1")).not.toBe(a);
  });
});
