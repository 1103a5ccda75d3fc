/**
 * @module workers/index
 * The composition root: the Worker's handlers and the Durable Object classes it exports.
 */
import { app } from "./app.ts";

export { ChannelRoom } from "../durable-objects/channel-room/channel-room.ts";
export { UserInbox } from "../durable-objects/user-inbox/user-inbox.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
