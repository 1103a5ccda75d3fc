/**
 * @module workers/routes/connect
 * Service discovery and the WebSocket upgrades. `POST /v1/connect` answers where to connect
 * and with what: a URL and a single-use ticket valid 30 s for this device (browsers cannot
 * set headers on a WebSocket, and long-lived tokens never go in a URL). The upgrade carries
 * the ticket in `?ticket=` or in `Sec-WebSocket-Protocol` (`edge-chat.v1, ticket.<jwt>`); the
 * Worker checks signature, expiry and target before the request reaches any Durable Object,
 * then hands the request, with the verified identity in headers, to the object that owns the
 * socket. The user object refuses a ticket it has seen before. A channel ticket goes to members
 * only, so an upgrade is refused only when membership changed within the ticket's 30 s. The
 * user object also counts every ticket asked for (LIMIT_CONNECTS_PER_USER).
 */
import { Hono } from "hono";
import { issueTicket, verifyTicket } from "../../domain/tokens.ts";
import { unwrap } from "../../durable-objects/rpc.ts";
import { IDENTITY_HEADERS } from "../../durable-objects/socket-identity.ts";
import { ConnectBody } from "../../protocol/api.ts";
import { ChatError } from "../../protocol/errors.ts";
import { SUBPROTOCOL } from "../../protocol/frames.ts";
import { isChannelId } from "../../protocol/ids.ts";
import { isMember } from "../../storage/d1/memberships.ts";
import { type AppContext, type AppEnv, channelStub, db, inboxStub } from "../context.ts";
import { requireToken } from "../middleware/auth.ts";
import { valid } from "../validate.ts";

export const connect = new Hono<AppEnv>();

/**
 * Channel tickets go to members only. The user object has the user's channels, so the common
 * path reads no D1. A channel it has not heard of yet (a group created a moment ago, whose
 * first update is still on its way) is looked up in D1's copy, which the channel writes before
 * its create or add call answers. Neither asks the ChannelRoom: an invented id never wakes or
 * creates one.
 */
async function admitConnect(c: AppContext, channelId: string | undefined): Promise<void> {
  const me = c.get("userId");
  // Also counts the connect against the user's limit (LIMIT_CONNECTS_PER_USER): each upgrade
  // needs a fresh single-use ticket, so this bounds a reconnect storm's upgrades too.
  // The same call refuses a signed-out device (`requireToken` left that to it).
  if (await unwrap(inboxStub(c.env, me).admitConnect(c.get("deviceId"), channelId ?? null))) return;
  if (channelId === undefined || (await isMember(db(c), me, channelId))) return;
  throw new ChatError("not_a_member", "you are not a member of this channel");
}

connect.post("/connect", requireToken, valid("json", ConnectBody), async (c) => {
  const channelId = c.req.valid("json").channel_id;
  await admitConnect(c, channelId);
  const socket = channelId ?? "user";
  const { ticket, claims } = await issueTicket(c.env.AUTH_SECRET, c.get("userId"), c.get("deviceId"), socket);
  const url = new URL(c.req.url);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = channelId ? `/v1/ws/channels/${channelId}` : "/v1/ws/user";
  url.search = "";
  return c.json({ url: url.toString(), ticket, expires_at: claims.exp * 1000, protocol: SUBPROTOCOL });
});

function ticketOf(c: AppContext): string {
  const fromQuery = c.req.query("ticket");
  if (fromQuery) return fromQuery;
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const fromProtocol = offered.find((p) => p.startsWith("ticket."));
  if (fromProtocol) return fromProtocol.slice("ticket.".length);
  throw new ChatError("ticket_invalid", "a socket ticket is required (POST /v1/connect)");
}

/** A copy of the upgrade request carrying the verified identity, for the Durable Object. */
function withIdentity(
  c: AppContext,
  claims: { sub: string; did: string; jti: string; exp: number },
): Request {
  const headers = new Headers(c.req.raw.headers);
  headers.set(IDENTITY_HEADERS.userId, claims.sub);
  headers.set(IDENTITY_HEADERS.deviceId, claims.did);
  headers.set(IDENTITY_HEADERS.ticketId, claims.jti);
  headers.set(IDENTITY_HEADERS.ticketExpiresAt, String(claims.exp * 1000));
  return new Request(c.req.raw, { headers });
}

function requireUpgrade(c: AppContext): void {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ChatError("bad_request", "this endpoint expects a WebSocket upgrade");
  }
}

connect.get("/ws/user", async (c) => {
  requireUpgrade(c);
  const claims = await verifyTicket(c.env.AUTH_SECRET, ticketOf(c));
  if (claims.aud !== "user") throw new ChatError("ticket_invalid", "this ticket is for another socket");
  return inboxStub(c.env, claims.sub).fetch(withIdentity(c, claims));
});

connect.get("/ws/channels/:id", async (c) => {
  requireUpgrade(c);
  const channelId = c.req.param("id");
  const claims = await verifyTicket(c.env.AUTH_SECRET, ticketOf(c));
  if (!isChannelId(channelId) || claims.aud !== channelId) {
    throw new ChatError("ticket_invalid", "this ticket is for another socket");
  }
  // The user object is the one place that remembers used tickets and revoked devices.
  const inbox = inboxStub(c.env, claims.sub);
  await unwrap(inbox.admitChannelSocket(claims.jti, claims.exp * 1000, claims.did));
  const channel = channelStub(c.env, channelId);
  const res = await channel.fetch(withIdentity(c, claims));
  // Recorded only once the channel accepted it: a refused upgrade leaves nothing behind. A
  // device revoked meanwhile (its record would have been missed) loses the socket at once.
  if (res.status === 101 && !(await inbox.channelSocketOpened(claims.did, channelId))) {
    await channel.disconnectDevice(claims.did);
  }
  return res;
});
