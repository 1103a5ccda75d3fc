/**
 * @module domain/presence
 * Presence rules, pure. A user is online while at least one device's socket is alive; a
 * socket is alive while its last heartbeat (answered by the runtime, never waking the user
 * object) is younger than the timeout. Losing the last socket starts a grace period of the
 * same length, so a device that drops and reconnects within it causes no event for anyone.
 * What others see also depends on the "invisible" setting: an invisible user shows offline.
 */

import { onSlot } from "./slots.ts";

export type PresenceStatus = "online" | "offline";

export interface PresenceConfig {
  /** No heartbeat for this long: the socket is dead; no socket for this long: offline. */
  timeoutMs: number;
}

export interface SocketLiveness {
  connectedAt: number;
  /** The runtime's record of the last auto-answered heartbeat, if any. */
  lastHeartbeatAt: number | null;
}

/** The last sign of life of a socket. */
export function lastSeen(s: SocketLiveness): number {
  return Math.max(s.connectedAt, s.lastHeartbeatAt ?? 0);
}

export function isAlive(s: SocketLiveness, now: number, cfg: PresenceConfig): boolean {
  return now - lastSeen(s) < cfg.timeoutMs;
}

/**
 * The status after a sweep: online with a live socket; still online within the grace period
 * after the last one went (`lastActiveAt` is when it was last seen); offline after it.
 */
export function statusAfterSweep(
  liveSockets: number,
  lastActiveAt: number,
  now: number,
  cfg: PresenceConfig,
): PresenceStatus {
  if (liveSockets > 0) return "online";
  return now - lastActiveAt < cfg.timeoutMs ? "online" : "offline";
}

/** How often clients should heartbeat: six chances per timeout (5 s for the default 30 s). */
export function heartbeatInterval(timeoutMs: number): number {
  return Math.max(100, Math.min(5_000, Math.floor(timeoutMs / 6)));
}

/** What other people are shown. */
export function visibleStatus(status: PresenceStatus, invisible: boolean): PresenceStatus {
  return invisible ? "offline" : status;
}

/**
 * The window the periodic sweeps of all users are spread over: a sixth of the timeout (5 s for
 * the default 30 s). Users who connected together (after a deploy, say) would otherwise be
 * swept together, once per timeout, for as long as they stay.
 */
export function sweepSpread(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs / 6));
}

/**
 * When the next sweep is due: while sockets are open, once per timeout on this user's own
 * `slot` of `sweepSpread` (within half of it from now + timeout, so a late alarm does not
 * lengthen the period); else at the end of the grace period.
 */
export function nextSweepAt(
  liveSockets: number,
  lastActiveAt: number,
  now: number,
  cfg: PresenceConfig,
  slot = 0,
): number {
  if (liveSockets === 0) return lastActiveAt + cfg.timeoutMs;
  const spread = sweepSpread(cfg.timeoutMs);
  return onSlot(now + cfg.timeoutMs - Math.floor(spread / 2), slot, spread);
}
