/**
 * @module workers/context
 * The Hono environment shared by every route, and the one place stubs are named.
 */
import type { Context } from "hono";
import { openDb } from "../storage/d1/db.ts";

export interface AuthVars {
  requestId: string;
  userId: string;
  deviceId: string;
}

export type AppEnv = { Bindings: Env; Variables: AuthVars };
export type AppContext = Context<AppEnv>;

export const db = (c: AppContext) => openDb(c.env.DB);

/** The Durable Object that owns a channel: its name is the channel id. */
export function channelStub(env: Env, channelId: string) {
  return env.CHANNEL_ROOM.getByName(channelId);
}

/** The Durable Object of one user: its name is the user id. */
export function inboxStub(env: Env, userId: string) {
  return env.USER_INBOX.getByName(userId);
}
