/**
 * @module workers/index
 * The composition root: the Worker's handlers and the Durable Object classes it exports.
 * `fetch` is the Hono app; `queue` consumes push jobs and, after their last retry, their dead
 * letters (wrangler.toml names both queues; `batch.queue` says which one a batch is from);
 * `scheduled` is the hourly retention job (wrangler.toml `[triggers]`).
 */
import type { PushJob } from "../protocol/push.ts";
import { app } from "./app.ts";
import {
  consumeDeadLetters,
  consumePushBatch,
  pushConsumerDeps,
  queueRole,
} from "./consumers/push/consumer.ts";
import { runRetention } from "./retention.ts";

export { ChannelRoom } from "../durable-objects/channel-room/channel-room.ts";
export { UserInbox } from "../durable-objects/user-inbox/user-inbox.ts";

export default {
  fetch: app.fetch,
  async queue(batch, env, _ctx) {
    // Each environment names its own queues (`push-staging`, …): the role is in the name.
    switch (queueRole(batch.queue)) {
      case "push":
        return consumePushBatch(batch, pushConsumerDeps(env));
      case "dead_letters":
        return consumeDeadLetters(batch, pushConsumerDeps(env));
      default:
        // Throwing retries the whole batch: nothing is lost while a binding is misconfigured.
        throw new Error(`no consumer for queue "${batch.queue}"`);
    }
  },
  async scheduled(controller, env, _ctx) {
    await runRetention(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env, PushJob>;
