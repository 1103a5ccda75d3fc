/**
 * @module durable-objects/socket-identity
 * How the Worker passes a verified identity to the Durable Object that takes a WebSocket, and
 * what each socket remembers across hibernation (its attachment, at most 2 KiB).
 */
import { CLOSE } from "../protocol/close-codes.ts";
import { ChatError } from "../protocol/errors.ts";
import { type ServerFrame, SUBPROTOCOL } from "../protocol/frames.ts";

/** Set by the Worker after it verified the ticket; a client cannot reach a DO directly. */
export const IDENTITY_HEADERS = {
  userId: "x-chat-user-id",
  deviceId: "x-chat-device-id",
  ticketId: "x-chat-ticket-id",
  ticketExpiresAt: "x-chat-ticket-expires-at",
} as const;

export interface Identity {
  userId: string;
  deviceId: string;
  ticketId: string;
  ticketExpiresAt: number;
}

export function readIdentity(request: Request): Identity {
  const h = request.headers;
  const userId = h.get(IDENTITY_HEADERS.userId);
  const deviceId = h.get(IDENTITY_HEADERS.deviceId);
  const ticketId = h.get(IDENTITY_HEADERS.ticketId);
  const exp = Number(h.get(IDENTITY_HEADERS.ticketExpiresAt));
  if (!userId || !deviceId || !ticketId || !Number.isFinite(exp)) {
    throw new ChatError("ticket_invalid", "the upgrade did not come through the Worker");
  }
  return { userId, deviceId, ticketId, ticketExpiresAt: exp };
}

/** What a socket carries through hibernation. `v` lets the shape change later. */
export interface SocketAttachment {
  v: 1;
  userId: string;
  deviceId: string;
  connectedAt: number;
  /** Channel sockets only: mid-sync, so live broadcasts wait for the next page. */
  syncing?: boolean;
}

export function attachmentOf(ws: WebSocket): SocketAttachment | null {
  const a = ws.deserializeAttachment() as SocketAttachment | null;
  return a && a.v === 1 ? a : null;
}

/**
 * Answers a WebSocket upgrade that the Worker authorised: `accept` takes the verified identity
 * and returns the client end of an accepted pair, or throws a ChatError to refuse it. The
 * subprotocol is echoed when the client offered it (browsers fail the connection otherwise).
 */
export function answerUpgrade(request: Request, accept: (id: Identity) => WebSocket): Response {
  try {
    const client = accept(readIdentity(request));
    const headers = new Headers();
    if (request.headers.get("sec-websocket-protocol")?.includes(SUBPROTOCOL)) {
      headers.set("sec-websocket-protocol", SUBPROTOCOL);
    }
    return new Response(null, { status: 101, webSocket: client, headers });
  } catch (err) {
    if (err instanceof ChatError) return refuseUpgrade(err);
    throw err;
  }
}

/** The answer to a refused upgrade: the typed error as JSON with its status. */
export function refuseUpgrade(err: ChatError): Response {
  return Response.json(err.toEnvelope(), { status: err.status });
}

/**
 * Closes a socket without throwing. Codes 1005, 1006 and 1015 are reserved for reporting and
 * may never be sent; a socket already closing throws on close(), which we do not care about.
 */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code === 1005 || code === 1006 || code === 1015 ? 1000 : code, reason);
  } catch {
    // Already closed or closing.
  }
}

/** Sends a frame, ignoring a socket that closed meanwhile (its close event follows). */
export function sendQuietly(ws: WebSocket, data: string): boolean {
  try {
    ws.send(data);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends like `sendQuietly`, then closes the socket if what it has not read yet passed
 * `maxBuffered` bytes (`bufferedAmount`): a client that stopped reading would otherwise make
 * the object hold everything sent to it. The close (CLOSE.tooSlow) tells the device to
 * reconnect and resume from its cursor, so it loses nothing. False when the frame was not sent
 * or the socket was closed.
 */
export function sendBounded(ws: WebSocket, data: string, maxBuffered: number): boolean {
  if (!sendQuietly(ws, data)) return false;
  if (!(ws.bufferedAmount > maxBuffered)) return true;
  closeQuietly(ws, CLOSE.tooSlow, "too slow: the socket did not read what it was sent");
  return false;
}

/** Sends one typed frame (every outbound frame goes through here or `sendQuietly`). */
export function sendFrame(ws: WebSocket, frame: ServerFrame): void {
  ws.send(JSON.stringify(frame));
}
