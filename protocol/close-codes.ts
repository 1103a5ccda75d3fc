/**
 * @module protocol/close-codes
 * WebSocket close codes the server uses (4000–4999 is the application range, RFC 6455 §7.4.2).
 * 1005, 1006 and 1015 are reserved: they describe a close, a peer may never send them.
 */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  /** The device was revoked or signed out; do not reconnect with the same tokens. */
  revoked: 4001,
  /** The user is no longer a member of this channel. */
  removed: 4003,
  /** No heartbeat for the presence timeout: the server considers the device gone. */
  heartbeatTimeout: 4008,
  /** A newer connection of the same device replaced this one. */
  replaced: 4009,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];
