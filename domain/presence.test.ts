import { describe, expect, it } from "vitest";
import {
  heartbeatInterval,
  isAlive,
  lastSeen,
  nextSweepAt,
  statusAfterSweep,
  sweepSpread,
  visibleStatus,
} from "./presence.ts";

const cfg = { timeoutMs: 30_000 };

describe("presence rules", () => {
  it("judges a socket by its last heartbeat, or by when it connected if it never sent one", () => {
    expect(lastSeen({ connectedAt: 1_000, lastHeartbeatAt: null })).toBe(1_000);
    expect(lastSeen({ connectedAt: 1_000, lastHeartbeatAt: 20_000 })).toBe(20_000);
    expect(isAlive({ connectedAt: 0, lastHeartbeatAt: 20_000 }, 49_999, cfg)).toBe(true);
    expect(isAlive({ connectedAt: 0, lastHeartbeatAt: 20_000 }, 50_000, cfg)).toBe(false);
  });

  it("stays online through the grace period after the last socket, then goes offline", () => {
    expect(statusAfterSweep(1, 0, 999_999, cfg)).toBe("online");
    expect(statusAfterSweep(0, 100_000, 129_999, cfg)).toBe("online");
    expect(statusAfterSweep(0, 100_000, 130_000, cfg)).toBe("offline");
  });

  it("sweeps once per timeout while sockets are open, else at the end of the grace period", () => {
    expect(nextSweepAt(2, 0, 50_000, cfg)).toBe(80_000);
    expect(nextSweepAt(0, 45_000, 50_000, cfg)).toBe(75_000);
  });

  it("spreads the sweeps of users who connected together, each still once per timeout", () => {
    expect(sweepSpread(30_000)).toBe(5_000);
    const connectedAt = 1_000_000;
    const first = [0, 1_250, 2_500, 4_999].map((slot) => nextSweepAt(1, connectedAt, connectedAt, cfg, slot));
    expect(new Set(first).size).toBe(4);
    for (const at of first) {
      expect(at).toBeGreaterThanOrEqual(connectedAt + 30_000 - 2_500);
      expect(at).toBeLessThan(connectedAt + 30_000 + 2_500);
    }
    // The alarm fires a little late; the next sweep is back on the slot, a timeout later.
    const second = nextSweepAt(1, first[1] ?? 0, (first[1] ?? 0) + 40, cfg, 1_250);
    expect(second - (first[1] ?? 0)).toBe(30_000);
  });

  it("shows an invisible user offline and asks clients for six heartbeats per timeout", () => {
    expect(visibleStatus("online", true)).toBe("offline");
    expect(visibleStatus("online", false)).toBe("online");
    expect(heartbeatInterval(30_000)).toBe(5_000);
    expect(heartbeatInterval(2_000)).toBe(333);
    expect(heartbeatInterval(600_000)).toBe(5_000);
  });
});
