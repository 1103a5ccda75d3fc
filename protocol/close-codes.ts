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
  /**
   * The socket did not read what it was sent (its buffer passed LIMIT_SOCKET_BUFFER_BYTES).
   * Reconnect and resume as after a drop.
   */
  tooSlow: 4013,
  /**
   * Frames kept coming after they were refused as too fast (LIMIT_REFUSALS_PER_SOCKET).
   * Reconnect after a pause (LIMIT_FLOOD_PAUSE_MS: the user's tickets are refused until then)
   * and resume; nothing refused was stored.
   */
  flooding: 4029,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];
