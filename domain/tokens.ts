/**
 * @module domain/tokens
 * Signed tokens (HS256 JWT, through Hono's JWT helper). Two kinds share one key and are
 * told apart by `typ`, so neither can stand in for the other:
 * - access tokens (15 min) bound to a (user, device), sent as `Authorization: Bearer`;
 * - socket tickets (30 s, single-use through `jti`), for the WebSocket upgrade, where
 *   browsers cannot set headers. A ticket names the socket it opens: the user socket or one
 *   channel.
 * Refresh tokens are opaque (`<device id>.<secret>`); only the secret's SHA-256 is stored.
 */
import { sign, verify } from "hono/jwt";
import { JwtTokenExpired } from "hono/utils/jwt/types";
import { ChatError } from "../protocol/errors.ts";
import { randomToken } from "./encoding.ts";

export const ACCESS_TTL_S = 15 * 60;
export const TICKET_TTL_S = 30;
export const REFRESH_TTL_S = 30 * 24 * 3600;

export interface AccessClaims {
  typ: "access";
  sub: string;
  did: string;
  iat: number;
  exp: number;
}

export interface TicketClaims {
  typ: "ticket";
  sub: string;
  did: string;
  /** The socket this ticket opens: "user", or a channel id. */
  aud: string;
  jti: string;
  iat: number;
  exp: number;
}

const nowS = (): number => Math.floor(Date.now() / 1000);

export async function issueAccessToken(secret: string, userId: string, deviceId: string): Promise<string> {
  const iat = nowS();
  const claims: AccessClaims = { typ: "access", sub: userId, did: deviceId, iat, exp: iat + ACCESS_TTL_S };
  return sign({ ...claims }, secret, "HS256");
}

export async function issueTicket(
  secret: string,
  userId: string,
  deviceId: string,
  socket: string,
): Promise<{ ticket: string; claims: TicketClaims }> {
  const iat = nowS();
  const claims: TicketClaims = {
    typ: "ticket",
    sub: userId,
    did: deviceId,
    aud: socket,
    jti: randomToken(16),
    iat,
    exp: iat + TICKET_TTL_S,
  };
  return { ticket: await sign({ ...claims }, secret, "HS256"), claims };
}

async function verifyTyped(secret: string, token: string): Promise<Record<string, unknown>> {
  try {
    return (await verify(token, secret, "HS256")) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof JwtTokenExpired)
      throw new ChatError("token_expired", "the token has expired", { cause: err });
    throw new ChatError("unauthenticated", "the token is not valid", { cause: err });
  }
}

export async function verifyAccessToken(secret: string, token: string): Promise<AccessClaims> {
  const c = await verifyTyped(secret, token);
  if (c.typ !== "access" || typeof c.sub !== "string" || typeof c.did !== "string") {
    throw new ChatError("unauthenticated", "not an access token");
  }
  return c as unknown as AccessClaims;
}

export async function verifyTicket(secret: string, token: string): Promise<TicketClaims> {
  let c: Record<string, unknown>;
  try {
    c = await verifyTyped(secret, token);
  } catch (err) {
    throw new ChatError("ticket_invalid", "the ticket is not valid or has expired", { cause: err });
  }
  if (c.typ !== "ticket" || typeof c.jti !== "string" || typeof c.aud !== "string") {
    throw new ChatError("ticket_invalid", "not a socket ticket");
  }
  return c as unknown as TicketClaims;
}

/** A new refresh token for a device, and the hash to store. */
export function newRefreshSecret(deviceId: string): { token: string; secret: string } {
  const secret = randomToken(32);
  return { token: `${deviceId}.${secret}`, secret };
}

export function parseRefreshToken(token: string): { deviceId: string; secret: string } {
  const dot = token.indexOf(".");
  if (dot <= 0) throw new ChatError("unauthenticated", "the refresh token is not valid");
  return { deviceId: token.slice(0, dot), secret: token.slice(dot + 1) };
}
