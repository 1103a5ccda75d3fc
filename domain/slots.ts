/**
 * @module domain/slots
 * Stable slots that spread periodic work. Many objects that start together (a deploy, a mass
 * reconnect, a benchmark) would otherwise repeat their timers together; each takes the slot
 * its own id gives it instead, so the same work arrives evenly over a window.
 */

/** A stable slot in [0, windowMs) for an id (FNV-1a). */
export function phaseOf(id: string, windowMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % windowMs;
}

/** The first time at or after `at` that falls on `slot` of a `windowMs` cycle. */
export function onSlot(at: number, slot: number, windowMs: number): number {
  return at + ((((slot - at) % windowMs) + windowMs) % windowMs);
}
