/**
 * @module workers/app
 * The Hono application: request id → routes (each router applies auth itself) → one error
 * mapping. Every failure leaves as `{ "error": { "code", "message" } }`; details of
 * unexpected errors are logged with the request id and never sent.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorText, log, stackOf } from "../observability/log.ts";
import { metricsOf } from "../observability/metrics.ts";
import { ChatError } from "../protocol/errors.ts";
import { MAX_FRAME_CHARS } from "../protocol/frames.ts";
import type { AppEnv } from "./context.ts";
import { rememberRefusal } from "./refusal-memo.ts";
import { account } from "./routes/account.ts";
import { auth } from "./routes/auth.ts";
import { channels } from "./routes/channels.ts";
import { connect } from "./routes/connect.ts";
import { devices } from "./routes/devices.ts";
import { friends } from "./routes/friends.ts";
import { groups } from "./routes/groups.ts";
import { ops } from "./routes/ops.ts";
import { push } from "./routes/push.ts";
import { search } from "./routes/search.ts";
import { users } from "./routes/users.ts";

export const app = new Hono<AppEnv>();

app.use(async (c, next) => {
  c.set("requestId", c.req.header("cf-ray") ?? crypto.randomUUID());
  await next();
});

// A 100,000-code-point message is at most 1.2 MB even as ASCII-escaped JSON; nothing larger is read,
// but an upload, which streams to R2 under its own limit (routes/attachments.ts).
const limitBody = bodyLimit({
  maxSize: MAX_FRAME_CHARS,
  onError: () => {
    throw new ChatError("frame_too_large", `request bodies are at most ${MAX_FRAME_CHARS} bytes`);
  },
});
const UPLOAD_PATH = /^\/v1\/channels\/[^/]+\/attachments$/;
app.use("/v1/*", (c, next) =>
  c.req.method === "POST" && UPLOAD_PATH.test(c.req.path) ? next() : limitBody(c, next),
);

app.route("/v1/auth", auth);
app.route("/v1/users", users);
app.route("/v1/friends", friends);
app.route("/v1/groups", groups);
app.route("/v1/channels", channels);
app.route("/v1/devices", devices);
app.route("/v1/account", account);
app.route("/v1/push", push);
app.route("/v1/ops", ops);
app.route("/v1", connect);
app.route("/v1", search);

app.notFound((c) => c.json(new ChatError("not_found", "no such endpoint").toEnvelope(), 404));

app.onError((err, c) => {
  if (err instanceof ChatError) {
    // RFC 9110 §10.2.3: whole seconds; the body's retry_after_ms is exact.
    if (err.retryAfterMs !== undefined) {
      c.header("retry-after", String(Math.ceil(err.retryAfterMs / 1_000)));
      const deviceId = c.get("deviceId");
      if (deviceId) rememberRefusal(deviceId, c.req.method, c.req.path, err, Date.now());
      metricsOf(c.env).rateLimited(err.limit ?? "unknown", "rest", err.retryAfterMs);
    }
    return c.json(err.toEnvelope(), err.status);
  }
  log.error("http.internal_error", {
    request_id: c.get("requestId"),
    path: c.req.path,
    error: errorText(err),
    stack: stackOf(err),
  });
  const internal = new ChatError("internal", `something went wrong (ref ${c.get("requestId")})`);
  return c.json(internal.toEnvelope(), 500);
});
