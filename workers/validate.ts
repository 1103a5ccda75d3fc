/**
 * @module workers/validate
 * Request validation with valibot: a body or query that does not match its schema is
 * answered 400 `validation_failed` before the handler runs.
 *
 * This is a middleware of our own rather than `hono/validator`: Hono's JSON step parses a
 * body sent as `application/json` itself and throws a plain `HTTPException` for a broken or
 * empty one, which `app.onError` cannot map to a code, so the client got a 500 `internal`
 * (and the server logged a stack) for a malformed body. Here the body is read once, as text,
 * whatever its content type, and every failure is a typed `validation_failed`.
 */
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import * as v from "valibot";
import { ChatError } from "../protocol/errors.ts";
import { describeIssues } from "../protocol/frames.ts";
import type { AppContext, AppEnv } from "./context.ts";

type Target = "json" | "query";

/** What `c.req.valid(target)` returns in the handler: the schema's output. */
type Validated<U extends Target, T extends v.GenericSchema> = {
  in: { [K in U]: v.InferInput<T> };
  out: { [K in U]: v.InferOutput<T> };
};

async function readJson(c: AppContext): Promise<unknown> {
  const text = await c.req.text();
  // An empty body is "no body": a schema with a default (POST /v1/connect) accepts it.
  if (text.trim() === "") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ChatError("validation_failed", "the body is not valid JSON");
  }
  // Every body of this API is an object. valibot's object schemas accept an array as an object
  // with no keys, so `[]` would pass for a schema whose fields are all optional (POST /v1/connect).
  if (Array.isArray(json)) throw new ChatError("validation_failed", "the body must be a JSON object");
  return json;
}

/** The query string as Hono's validator gives it: a repeated key becomes an array. */
function readQuery(c: AppContext): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(c.req.queries()).map(([k, values]) => [k, values.length === 1 ? values.join("") : values]),
  );
}

export function valid<U extends Target, T extends v.GenericSchema>(
  target: U,
  schema: T,
): MiddlewareHandler<AppEnv, string, Validated<U, T>> {
  return createMiddleware<AppEnv, string, Validated<U, T>>(async (c, next) => {
    const input = target === "json" ? await readJson(c) : readQuery(c);
    const result = v.safeParse(schema, input);
    if (!result.success) {
      throw new ChatError("validation_failed", describeIssues(result.issues), {
        details: result.issues.slice(0, 10).map((i) => ({ path: v.getDotPath(i), message: i.message })),
      });
    }
    c.req.addValidatedData(target, result.output as object);
    await next();
  });
}
